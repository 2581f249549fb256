// Package faultvfs is the file system under one incarnation of a Pebble
// database (one pebble.Open), which makes the incarnation dead to the disk
// at its first storage fault.
//
// It exists because Pebble does not survive many write errors. What Pebble
// v2.1.7 does on a storage fault:
//
//   - A failed write or sync of the WAL is handed to the batches that sync
//     was for, and then sticks to the log writer (LogWriter.flushLoop in
//     record/log_writer.go); once the next block fills, commits find it
//     (LogWriter.queueBlock, LogWriter.SyncRecordGeneralized) and panic
//     (DB.commitWrite in db.go), and so does a memtable rotation, which
//     closes the log, or fails to create the next one (DB.rotateWAL).
//   - A failed write or sync of the MANIFEST, when a flush or compaction
//     records its outcome, calls Logger.Fatalf
//     (versionSet.UpdateVersionLocked in version_set.go), which exits the
//     process; a failed directory sync when a marker moves panics
//     (Marker.Move in vfs/atomicfs/marker.go).
//   - A failed flush is retried at once and forever (DB.flush in
//     compaction.go), so writes soon stall for want of memtables
//     (DB.maybeInduceWriteStall in db.go), holding the commit pipeline;
//     and Open (open.go), which flushes what it replays and waits for that
//     flush, never returns.
//
// So the first write-side error (a failed write, sync or create) is a
// storage fault, and from then on nothing the incarnation does reaches the
// disk any more, so that, as far as the disk can tell, the incarnation
// crashed at the fault. Pebble is crash-safe, so opening the directory
// again, on a new FS, recovers, as after any crash.
//
// After the fault the FS keeps every one of these errors from Pebble.
// Writes to the files that Pebble never reads back while it runs (the WAL,
// the MANIFEST, the markers and directories) are dropped and reported
// done; writes to other files that were open at the fault fail, which
// Pebble handles by failing and retrying the flush or compaction; and files
// created after the fault live in memory, so that those retries and
// everything else the incarnation does until it is closed succeed without
// touching the disk. The owner of the FS learns of the fault through
// Hooks.OnFault and Faulted, never through Pebble: a sync that Pebble
// reports done was durable only if the FS had not faulted when it returned.
package faultvfs
