package main

import (
	"context"
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
	fmt.Fprintf(stdout, "copied %d groups, %d members and %d counters in %v; checking the copy\n",
		n.groups, n.members, n.counters, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	if err := verify(ctx, src, dst, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "checked in %v: every group, member and counter is in the database as it is in the store, in the same order\n",
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

// mustBeEmpty refuses a database that holds groups: what migrate checks
// afterwards is then the copy alone, and no app's groups interleave with
// the copied ones.
func mustBeEmpty(ctx context.Context, dst *postgres.Store) error {
	apps, err := dst.Apps(ctx)
	if err != nil || len(apps) == 0 {
		return err
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

// verify compares every app that either store holds, and prints what it
// finds; it fails when any differs.
func verify(ctx context.Context, src *pebble.Store, dst *postgres.Store, stdout io.Writer) error {
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
