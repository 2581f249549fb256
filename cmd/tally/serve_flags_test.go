package main

import (
	"strings"
	"testing"

	"github.com/tallyserver/tally/config"
)

// TestMemoryBudgetFlag: --memory-budget overrides the file's
// memory_budget, and a size it cannot take is a usage error naming it.
func TestMemoryBudgetFlag(t *testing.T) {
	for _, c := range []struct {
		flag string
		file int64
		want int64
		err  string
	}{
		{"", 0, 0, ""},
		{"", 1 << 30, 1 << 30, ""},
		{"4GiB", 1 << 30, 4 << 30, ""},
		{"512MB", 0, 0, `--memory-budget: "512MB": write the unit as MiB`},
		{"1MiB", 0, 0, "--memory-budget: 1048576 bytes is below the smallest budget, 32MiB"},
	} {
		f := &config.File{MemoryBudget: c.file}
		err := (&serveFlags{memoryBudget: c.flag}).apply(f)
		switch {
		case c.err == "" && (err != nil || f.MemoryBudget != c.want):
			t.Errorf("--memory-budget %q over %d: %d, %v; want %d", c.flag, c.file, f.MemoryBudget, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("--memory-budget %q: %v, want an error containing %q", c.flag, err, c.err)
		}
	}
}

// TestHTTPFrontFlag: --http-front overrides the file's http_front, which
// defaults to nethttp, and a front it does not know is a usage error.
func TestHTTPFrontFlag(t *testing.T) {
	for _, c := range []struct {
		flag, file, want, err string
	}{
		{"", "", "nethttp", ""},
		{"", "fasthttp", "fasthttp", ""},
		{"nethttp", "fasthttp", "nethttp", ""},
		{"fast", "", "", `--http-front "fast": want nethttp or fasthttp`},
	} {
		f := &config.File{HTTPFront: c.file}
		err := (&serveFlags{httpFront: c.flag}).apply(f)
		switch {
		case c.err == "" && (err != nil || f.HTTPFront != c.want):
			t.Errorf("--http-front %q over %q: %q, %v; want %q", c.flag, c.file, f.HTTPFront, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("--http-front %q: %v, want an error containing %q", c.flag, err, c.err)
		}
	}
}
