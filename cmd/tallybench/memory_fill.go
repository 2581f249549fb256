package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/datadir"
	"github.com/tallyserver/tally/pebble"
)

// memFill is how the store came to hold the counters.
type memFill struct {
	took   time.Duration
	reused bool
}

// memMarker is written into the data directory once a fill has completed,
// so that a later run with -data can tell a complete store of the same
// shape, which it reuses, from anything else, which it refuses.
const memMarker = "tallybench-memory.txt"

func (o *memOptions) markerText() string {
	return fmt.Sprintf("counters=%d keys=%d\n", o.counters, o.keys)
}

// memFillOnce fills the store in o.data, unless a run with the same shape
// has filled it already: at ten million counters the fill is most of the
// run's time, and what is measured is the restart.
func memFillOnce(o *memOptions, progress io.Writer) (memFill, error) {
	dir := filepath.Join(o.data, datadir.StoreDir)
	_, err := os.Stat(dir)
	switch {
	case err == nil:
		marker, _ := os.ReadFile(filepath.Join(o.data, memMarker))
		if string(marker) != o.markerText() {
			return memFill{}, fmt.Errorf("%s holds a store that no complete run of tallybench memory -counters %d -keys %d filled; give another -data",
				dir, o.counters, o.keys)
		}
		return memFill{reused: true}, nil
	case !errors.Is(err, fs.ErrNotExist):
		return memFill{}, err
	}

	start := time.Now()
	if err := memFillStore(dir, o, progress); err != nil {
		return memFill{}, err
	}
	took := time.Since(start)
	if err := os.WriteFile(filepath.Join(o.data, memMarker), []byte(o.markerText()), 0o644); err != nil {
		return memFill{}, err
	}
	return memFill{took: took}, nil
}

// memFillStore creates the groups and sets their counters, each group with
// one CreateGroup and one UpdateCounters of all its keys, from o.writers
// goroutines so that many calls share each fsync.
func memFillStore(dir string, o *memOptions, progress io.Writer) (err error) {
	st, err := pebble.Open(dir)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); err == nil {
			err = cerr
		}
	}()

	var done atomic.Int64
	ctx := context.Background()
	stop := make(chan struct{})
	go memFillProgress(o, &done, progress, stop)
	err = parallel(o.groups(), o.writers, func(_, g int) error {
		id := memGroupID(g)
		req := tally.NewGroup{ID: id, Type: tally.GroupPublic, Fields: tally.GroupChange{Name: &id}}
		grp, members, err := req.Build(time.Now().Unix())
		if err != nil {
			return fmt.Errorf("build group %s: %w", id, err)
		}
		if err := st.CreateGroup(ctx, memAppID, grp, members); err != nil {
			return fmt.Errorf("create group %s: %w", id, err)
		}
		items := make([]tally.Counter, o.keysIn(g))
		for k := range items {
			items[k] = tally.Counter{Key: memKeys[k], Value: int64(g*o.keys + k)}
		}
		if _, err := st.UpdateCounters(ctx, memAppID, id, tally.ModeSet, items); err != nil {
			return fmt.Errorf("set counters of %s: %w", id, err)
		}
		done.Add(int64(len(items)))
		return nil
	})
	close(stop)
	return err
}

// memFillProgress prints how far the fill is every few seconds until stop
// is closed.
func memFillProgress(o *memOptions, done *atomic.Int64, w io.Writer, stop chan struct{}) {
	start := time.Now()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			n := done.Load()
			fmt.Fprintf(w, "fill: %s of %s counters, %s/s\n", memCount(int(n)), memCount(o.counters),
				memCount(int(float64(n)/time.Since(start).Seconds())))
		}
	}
}

// memDisk is what the store takes on disk.
type memDisk struct {
	tables, wal int64 // bytes in tables and in WAL files
	nTables     int
}

func memDiskUsage(dir string) (memDisk, error) {
	var d memDisk
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		switch {
		case strings.HasSuffix(path, ".sst"):
			d.tables += info.Size()
			d.nTables++
		case strings.HasSuffix(path, ".log"):
			d.wal += info.Size()
		}
		return nil
	})
	return d, err
}
