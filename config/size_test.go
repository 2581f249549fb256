package config

import (
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"0", 0, false},
		{"1048576", 1 << 20, false},
		{"512MiB", 512 << 20, false},
		{"2GiB", 2 << 30, false},
		{"64 KiB", 64 << 10, false},
		{"1TiB", 1 << 40, false},
		{"512MB", 0, true},
		{"1G", 0, true},
		{"MiB", 0, true},
		{"-1MiB", 0, true},
		{"1.5GiB", 0, true},
		{"99999999999TiB", 0, true},
		{"", 0, true},
	} {
		got, err := ParseSize(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, error %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestMemoryBudget(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     int64
		err      string
	}{
		{"absent", "listen: ':1'\n", 0, ""},
		{"MiB", "memory_budget: 512MiB\n", 512 << 20, ""},
		{"quoted GiB", "memory_budget: \"2GiB\"\n", 2 << 30, ""},
		{"bytes", "memory_budget: 67108864\n", 64 << 20, ""},
		{"decimal unit", "memory_budget: 512MB\n", 0, `line 1: memory_budget: "512MB": write the unit as MiB, a power of 1024`},
		{"too small", "memory_budget: 16MiB\n", 0, "line 1: memory_budget: 16777216 bytes is below the smallest budget, 32MiB"},
		{"not a size", "memory_budget: lots\n", 0, `memory_budget: "lots" is not a size such as 512MiB or 2GiB`},
		{"a list", "memory_budget: [1]\n", 0, "memory_budget: a list; must be a string"},
	} {
		f, err := Parse([]byte(c.in))
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err == "" && f.MemoryBudget != c.want:
			t.Errorf("%s: MemoryBudget %d, want %d", c.name, f.MemoryBudget, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.err)
		}
	}
}

func TestStreamBudget(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
		err  string
	}{
		{"listen: ':1'\n", 0, ""},
		{"stream_budget: 2000\n", 2000, ""},
		{"stream_budget: 0\n", 0, "line 1: stream_budget: 0; must be a whole number of messages a second"},
		{"stream_budget: 1.5\n", 0, "stream_budget: 1.5; must be a whole number"},
		{"stream_budget: \"100\"\n", 0, "must be a whole number"},
	} {
		f, err := Parse([]byte(c.in))
		switch {
		case c.err == "" && (err != nil || f.StreamBudget != c.want):
			t.Errorf("%q: %v, %v; want %d", c.in, f, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: error %v, want it to contain %q", c.in, err, c.err)
		}
	}
}
