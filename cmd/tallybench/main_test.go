package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tallyserver/tally/internal/pgtest"
	"github.com/tallyserver/tally/internal/tallybin"
)

// TestMain lets the test binary stand in for tallybench when load starts
// "tallybench noop" by running its own executable.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "noop" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// The benchmarks are run by hand, so nothing else would notice when a change
// breaks one; each runs here at a size that takes seconds, and must finish
// with its checks passed and its report whole.
func TestCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs tally")
	}
	bin := filepath.Join(t.TempDir(), "tally")
	if _, err := tallybin.Build(filepath.Dir(bin)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string // in the output
		// needsPostgres skips the case where PostgreSQL is not
		// installed; CI installs it, so there it always runs.
		needsPostgres bool
	}{
		{"load", []string{"load", "-tally", bin, "-duration", "200ms", "-rounds", "1", "-groups", "20", "-big", "30", "-conns", "4", "-tmpfs", t.TempDir()},
			[]string{"ceiling: no-op handler", "hot ÷ spread", "check hot key", "check 20 keys, each", "check spread: sum over 20 groups", "check big: sum over 30 groups", "check tmpfs: hot key"}, false},
		{"callbacks", []string{"callbacks", "-tally", bin, "-duration", "200ms", "-rounds", "1", "-groups", "10", "-conns", "4", "-sleep", "1s"},
			[]string{"hot key, callbacks accepted", "accepting handler:", "check server 2: spread: sum over 10 groups"}, false},
		{"memory", []string{"memory", "-tally", bin, "-counters", "2000", "-reads", "200", "-writes", "100", "-restarts", "1", "-conns", "4", "-working", "50", "-budget", "64MiB"},
			[]string{"RSS", "50 groups read once", "100.0%"}, false},
		{"fanout", []string{"fanout", "-tally", bin, "-subscribers", "200", "-groups", "20", "-duration", "1s", "-rounds", "1", "-writers", "4"},
			[]string{"| no streams |", "| 200 streams, 20 on the hot group |", "delay from the writer's OK", "per stream", "check hot key"}, false},
		{"fsync", []string{"fsync", "-dir", t.TempDir(), "-duration", "100ms", "-rounds", "1"},
			[]string{"fsync back to back", "machine CPU/fsync"}, false},
		{"cluster", []string{"cluster", "-tally", bin, "-duration", "200ms", "-rounds", "1", "-groups", "20", "-conns", "6", "-nodes", "3"},
			[]string{"synchronous_commit=on", "ceiling: no-op handler", "update, one hot key, 3 nodes", "update, spread over 20 groups, 1 node",
				"update, one hot key, 1 node, no folding", "folding: hot key on 1 node", "spread, 3 nodes ÷ 1 node",
				"check hot key", "check spread: sum over 20 groups"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needsPostgres {
				if _, err := pgtest.Bin(); err != nil {
					t.Skip(err)
				}
			}
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
			}
			out := stdout.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "MISMATCH") || strings.Contains(out, "TORN") {
				t.Errorf("a check failed:\n%s", out)
			}
		})
	}
}
