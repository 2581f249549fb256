package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// fsyncCost measures what a stream of fsyncs costs the whole machine, not
// just the process that calls them: on a virtual machine the flush of a
// virtual disk can take CPU from every core, which the caller's own CPU
// time does not show. One goroutine per core spins on arithmetic while
// another appends to a file and fdatasyncs it, back to back or paced; the
// spinners' loss of throughput, against runs with no fsync alternated with
// them, is the machine's capacity that the fsyncs took.
func fsyncCost(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("fsync", stderr)
	dir := fs.String("dir", os.TempDir(), "directory on the file system to measure (where tally keeps its data)")
	duration := fs.Duration("duration", 3*time.Second, "length of each run")
	rounds := fs.Int("rounds", 3, "runs of each mode, alternated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := os.CreateTemp(*dir, "tallybench-fsync-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	// Written and synced ahead, like a WAL file that Pebble recycles, so
	// that the appends below change no file metadata.
	const size = 64 << 20
	if _, err := f.Write(make([]byte, size)); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}

	type mode struct {
		name  string
		sync  bool
		every time.Duration // the pace of the fsyncs; 0 for back to back
		// grow writes past the file's end, as to a WAL file that is new
		// rather than recycled, so that every fsync also commits the
		// file's new size to the file system's journal.
		grow  bool
		spins []float64
		syncs []float64
	}
	modes := []*mode{
		{name: "no fsync"},
		{name: "fsync back to back", sync: true},
		{name: "fsync every 1ms", sync: true, every: time.Millisecond},
		{name: "fsync every 5ms", sync: true, every: 5 * time.Millisecond},
		{name: "fsync, growing file", sync: true, grow: true},
	}
	// The spinners take every core; one more P lets the fsync goroutine run
	// whenever it wakes, as the kernel would schedule it, rather than wait
	// for the Go scheduler to preempt a spinner.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(runtime.NumCPU() + 1))
	record := make([]byte, 1024) // about what one fsync of the WAL carries under load
	var off, end int64 = 0, size
	for r := range *rounds {
		for _, m := range modes {
			var stop atomic.Bool
			var spins atomic.Int64
			var wg sync.WaitGroup
			for range runtime.NumCPU() {
				wg.Add(1)
				go func() {
					defer wg.Done()
					spin(&stop, &spins)
				}()
			}
			start := time.Now()
			syncs := 0
			for time.Since(start) < *duration {
				t := time.Now()
				if m.sync {
					at := off
					if m.grow {
						at, end = end, end+int64(len(record))
					}
					if _, err := f.WriteAt(record, at); err != nil {
						return err
					}
					if err := syscall.Fdatasync(int(f.Fd())); err != nil {
						return err
					}
					off = (off + int64(len(record))) % size
					syncs++
				}
				pause := m.every - time.Since(t)
				if !m.sync {
					pause = 10 * time.Millisecond
				}
				if pause > 0 {
					time.Sleep(pause)
				}
			}
			stop.Store(true)
			wg.Wait()
			el := time.Since(start).Seconds()
			m.spins = append(m.spins, float64(spins.Load())/el)
			m.syncs = append(m.syncs, float64(syncs)/el)
			fmt.Fprintf(stdout, "  round %d  %-20s %10.0f spins/s %6.0f fsyncs/s\n", r+1, m.name, m.spins[r], m.syncs[r])
		}
	}

	base := median(modes[0].spins)
	cpus := runtime.NumCPU()
	fmt.Fprintf(stdout, "\n%d cores, file on %s\n%-20s %9s %12s %18s\n", cpus, *dir, "mode", "fsyncs/s", "capacity", "machine CPU/fsync")
	for _, m := range modes {
		kept := median(m.spins) / base
		line := fmt.Sprintf("%-20s %9.0f %11.0f%%", m.name, median(m.syncs), 100*kept)
		if n := median(m.syncs); n > 0 {
			lost := time.Duration((1 - kept) * float64(cpus) / n * float64(time.Second))
			line += fmt.Sprintf(" %18s", lost.Round(time.Microsecond))
		}
		fmt.Fprintln(stdout, line)
	}
	fmt.Fprintln(stdout, "capacity is the spinners' throughput as a share of the runs without fsync; medians of the rounds.")
	return nil
}

// spin does arithmetic until stop is set, counting units of work in n.
func spin(stop *atomic.Bool, n *atomic.Int64) {
	x := 1
	for !stop.Load() {
		for i := range 10000 {
			x += i * x
		}
		n.Add(1)
	}
	runtime.KeepAlive(x)
}
