package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/config"
	"github.com/tallyserver/tally/internal/datadir"
	"github.com/tallyserver/tally/internal/storecheck"
	"github.com/tallyserver/tally/pebble"
	"github.com/tallyserver/tally/postgres"
)

// batchRows bounds one import transaction: groups and members together.
// A few thousand rows make a transaction of a few hundred KiB, big enough
// that the commit's round trip to the synchronous standby costs little
// per group, and small enough that nothing waits long on its locks. A
// group with more members than that goes alone.
const batchRows = 5000

// batchEventBytes bounds one import transaction of events by their bodies
// as well, since one event may name every member of a group: some
// megabytes. An event bigger than that goes alone.
const batchEventBytes = 8 << 20

// migrateCmd copies the embedded store of a data dir, which no server has
// open, into an empty PostgreSQL database, and then checks the copy
// against the source, app by app.
func migrateCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr)
	from := fs.String("from", "", "the data dir whose embedded store to copy; no server may have it open (required)")
	to := fs.String("to", "", "URL of the PostgreSQL database to copy into, postgres://…; it must hold no groups (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *from == "":
		return usageError{"--from is required: the data dir of the embedded store to copy"}
	case *to == "":
		return usageError{"--to is required: the URL of the PostgreSQL database to copy into"}
	}
	if err := config.CheckStore(*to); err != nil {
		return usageError{"--to: " + err.Error()}
	}
	// An interrupt stops the copy between two transactions; the database
	// then holds part of it, which the error says to drop.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	src, err := openSource(*from)
	if err != nil {
		return err
	}
	defer src.Close()
	openCtx, cancel := context.WithTimeout(ctx, storeOpenWait)
	dst, err := postgres.Open(openCtx, *to)
	cancel()
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := mustBeEmpty(ctx, dst); err != nil {
		return err
	}

	fmt.Fprintf(stdout, "copying the store in %s into PostgreSQL %s\n", *from, dst)
	start := time.Now()
	n, err := copyStore(ctx, src, dst, batchRows)
	if err != nil {
		return fmt.Errorf("copy: %w\nThe database holds part of the copy: drop it, or give migrate a new one, before trying again", err)
	}
	ev, err := copyOutbox(ctx, src, dst, batchRows, batchEventBytes)
	if err != nil {
		return fmt.Errorf("copy the outbox: %w\nThe database holds part of the copy: drop it, or give migrate a new one, before trying again", err)
	}
	fmt.Fprintf(stdout, "copied %d groups, %d members and %d counters, and %d callbacks not yet delivered, in %v; checking the copy\n%v\n",
		n.groups, n.members, n.counters, ev.n, time.Since(start).Round(time.Millisecond), ev)

	start = time.Now()
	if err := verify(ctx, src, dst, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "checked in %v: every group, member, counter and undelivered callback is in the database as it is in the store, in the same order\n",
		time.Since(start).Round(time.Millisecond))
	if _, err := os.Stat(filepath.Join(*from, datadir.DevAppFile)); err == nil {
		fmt.Fprintf(stdout, "\nThe data dir holds the development app (%s), which stays there; serve it from the database with:\n"+
			"  tally serve --store URL --data %s\n", datadir.DevAppFile, *from)
	} else {
		fmt.Fprintf(stdout, "\nServe it with each node's config and:\n  tally serve --config FILE --store URL\n")
	}
	return nil
}

// openSource opens the embedded store of the data dir from, which must
// exist: opening an absent one would make an empty one, and copy nothing.
func openSource(from string) (*pebble.Store, error) {
	dir := filepath.Join(from, datadir.StoreDir)
	if fi, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) || err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("%s holds no embedded store (no directory %s)", from, datadir.StoreDir)
	} else if err != nil {
		return nil, err
	}
	s, err := pebble.Open(dir)
	if errors.Is(err, pebble.ErrInUse) {
		return nil, fmt.Errorf("%w\nStop the server on %s first: migrate copies a store that nothing writes to, so that the copy can be checked whole", err, from)
	}
	return s, err
}

// mustBeEmpty refuses a database that holds groups or after-events: what
// migrate checks afterwards is then the copy alone, no app's groups
// interleave with the copied ones, and no event there has an id that a
// copied one needs.
func mustBeEmpty(ctx context.Context, dst *postgres.Store) error {
	apps, err := dst.Apps(ctx)
	if err != nil {
		return err
	}
	if len(apps) == 0 {
		evs, err := dst.Events(ctx, 1)
		if err != nil || len(evs) == 0 {
			return err
		}
		return fmt.Errorf("PostgreSQL %s already holds callbacks not yet delivered; migrate copies into a database that holds none: give it a new one", dst)
	}
	total := 0
	for _, app := range apps {
		page, err := dst.ListGroups(ctx, app, tally.GroupFilter{})
		if err != nil {
			return err
		}
		total += page.Total
	}
	return fmt.Errorf("PostgreSQL %s already holds %d groups of %d apps; migrate copies into a database that holds none: give it a new one", dst, total, len(apps))
}

// copied counts what copyStore copied.
type copied struct{ groups, members, counters int }

// copyStore exports every group of src and imports it into dst, in
// transactions of about batch rows (groups and members).
func copyStore(ctx context.Context, src *pebble.Store, dst *postgres.Store, batch int) (copied, error) {
	var n copied
	var groups []tally.GroupExport
	rows := 0
	flush := func() error {
		err := dst.Import(ctx, groups)
		groups, rows = groups[:0], 0
		return err
	}
	err := src.Export(func(e *tally.GroupExport) error {
		groups = append(groups, *e)
		rows += 1 + len(e.Members)
		n.groups++
		n.members += len(e.Members)
		n.counters += len(e.Counters)
		if rows >= batch {
			return flush()
		}
		return nil
	})
	if err == nil && len(groups) > 0 {
		err = flush()
	}
	return n, err
}

// eventIDs counts events given in id order, and keeps the lowest and
// highest of their ids.
type eventIDs struct {
	n           int
	first, last uint64
}

func (r *eventIDs) add(id uint64) {
	if r.n == 0 {
		r.first = id
	}
	r.n++
	r.last = id
}

// copiedEvents tells what copyOutbox copied, and the id above which new
// events are numbered.
type copiedEvents struct {
	eventIDs
	above uint64
}

// String says what a handler that remembers EventIds will see.
func (c copiedEvents) String() string {
	if c.n == 0 {
		return fmt.Sprintf("the EventIds of new callbacks continue above %d", c.above)
	}
	return fmt.Sprintf("the callbacks keep their EventIds, %d to %d, and those of new ones continue above %d", c.first, c.last, c.above)
}

// copyOutbox copies the outbox of src into dst with the events' ids, in
// transactions of at most batch events and about batchBytes of bodies,
// and has dst number new events above every id src has given that it
// still knows (pebble.Store.LastEventID).
func copyOutbox(ctx context.Context, src *pebble.Store, dst *postgres.Store, batch, batchBytes int) (copiedEvents, error) {
	c := copiedEvents{above: src.LastEventID()}
	var evs []tally.Event
	size := 0
	flush := func() error {
		err := dst.ImportEvents(ctx, evs, c.above)
		evs, size = evs[:0], 0
		return err
	}
	err := src.ExportEvents(func(e tally.Event) error {
		c.add(e.ID)
		c.above = max(c.above, e.ID)
		evs = append(evs, e)
		size += len(e.Body)
		if len(evs) >= batch || size >= batchBytes {
			return flush()
		}
		return nil
	})
	// A last call even without events moves dst's ids above c.above.
	if err == nil && (len(evs) > 0 || c.n == 0) {
		err = flush()
	}
	return c, err
}

// verify compares every app that either store holds, and their outboxes,
// and prints what it finds; it fails when any differs.
func verify(ctx context.Context, src *pebble.Store, dst *postgres.Store, stdout io.Writer) error {
	if err := verifyApps(ctx, src, dst, stdout); err != nil {
		return err
	}
	return verifyOutbox(ctx, src, dst, stdout)
}

// verifyApps compares every app that either store holds.
func verifyApps(ctx context.Context, src *pebble.Store, dst *postgres.Store, stdout io.Writer) error {
	apps, err := src.Apps()
	if err != nil {
		return err
	}
	more, err := dst.Apps(ctx)
	if err != nil {
		return err
	}
	apps = append(apps, more...)
	slices.Sort(apps)
	apps = slices.Compact(apps)
	bad := 0
	for _, app := range apps {
		r, err := storecheck.Compare(ctx, app, src, dst)
		if err != nil {
			return fmt.Errorf("check app %d: %w", app, err)
		}
		if r.OK() {
			fmt.Fprintf(stdout, "app %d: %v: the same in both\n", app, r.A)
			continue
		}
		bad++
		fmt.Fprintf(stdout, "app %d DIFFERS\n  store:    %v\n  database: %v\n", app, r.A, r.B)
		for _, d := range r.Diffs {
			fmt.Fprintf(stdout, "  - %s\n", d)
		}
		if r.More > 0 {
			fmt.Fprintf(stdout, "  - and %d differences more\n", r.More)
		}
	}
	if bad > 0 {
		return fmt.Errorf("the copy differs from the store in %d of %d apps (above); drop the database before trying again", bad, len(apps))
	}
	return nil
}

// verifyOutbox compares the outboxes of the two stores by a sum of every
// event, id and all, in id order: outboxes hold the callbacks not yet
// delivered, few enough that a difference is worth no more than saying so.
func verifyOutbox(ctx context.Context, src *pebble.Store, dst *postgres.Store, stdout io.Writer) error {
	a, err := sumEvents(src.ExportEvents)
	if err != nil {
		return fmt.Errorf("check the outbox: %w", err)
	}
	b, err := sumEvents(func(fn func(tally.Event) error) error { return dst.ExportEvents(ctx, fn) })
	if err != nil {
		return fmt.Errorf("check the outbox: %w", err)
	}
	if a == b {
		fmt.Fprintf(stdout, "outbox: %v: the same in both\n", a)
		return nil
	}
	fmt.Fprintf(stdout, "outbox DIFFERS\n  store:    %v\n  database: %v\n", a, b)
	return errors.New("the copy's outbox differs from the store's (above); drop the database before trying again")
}

// eventSum sums up an outbox: how many events, the lowest and highest ids,
// and a SHA-256 of every event in id order.
type eventSum struct {
	eventIDs
	sha [sha256.Size]byte
}

func (s eventSum) String() string {
	if s.n == 0 {
		return "no events"
	}
	return fmt.Sprintf("%d events, EventIds %d to %d, sha256 %x", s.n, s.first, s.last, s.sha[:8])
}

// sumEvents sums up the events that export gives.
func sumEvents(export func(func(tally.Event) error) error) (eventSum, error) {
	var s eventSum
	h := sha256.New()
	var buf []byte
	err := export(func(e tally.Event) error {
		s.add(e.ID)
		buf = binary.BigEndian.AppendUint64(buf[:0], e.ID)
		buf = binary.BigEndian.AppendUint32(buf, e.App)
		buf = append(buf, byte(e.Kind))
		buf = binary.BigEndian.AppendUint64(buf, uint64(e.Time))
		// Each variable field after its length, so that no two events
		// sum alike by moving bytes from one field to the next.
		buf = binary.BigEndian.AppendUint64(buf, uint64(len(e.GroupID)))
		buf = append(buf, e.GroupID...)
		buf = binary.BigEndian.AppendUint64(buf, uint64(len(e.ClientIP)))
		buf = append(buf, e.ClientIP...)
		buf = binary.BigEndian.AppendUint64(buf, uint64(len(e.Body)))
		h.Write(buf)
		h.Write(e.Body)
		return nil
	})
	h.Sum(s.sha[:0])
	return s, err
}
