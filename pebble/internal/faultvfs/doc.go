// Package faultvfs is the file system under one incarnation of a Pebble
// database (one pebble.Open), which makes the incarnation dead to the disk
// at its first storage fault.
//
// It exists because Pebble does not survive many write errors. What Pebble
// v2.1.7 does on a storage fault:
//
//   - A failed write or sync of the WAL is handed to the batches that sync
//     was for, and then sticks to the log writer (record/log_writer.go:717,
//     :732); once the next block fills, commits find it (:843, :950) and
//     panic (db.go:997), and so does a memtable rotation, which closes the
//     log (db.go:2822), or fails to create the next one (db.go:2835).
//   - A failed write or sync of the MANIFEST, when a flush or compaction
//     records its outcome, calls Logger.Fatalf (version_set.go:671), which
//     exits the process; a failed directory sync when a marker moves
//     panics (vfs/atomicfs/marker.go:230).
//   - A failed flush is retried at once and forever (compaction.go:1482-1494),
//     so writes soon stall for want of memtables (db.go:2633), holding the
//     commit pipeline; and Open, which flushes what it replays and waits
//     for that flush (open.go:534-537), never returns.
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
