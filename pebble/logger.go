package pebble

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tallyserver/tally/pebble/internal/faultvfs"
)

// logger passes Pebble's errors on and keeps its chatter out. Pebble calls
// Fatalf, which by default exits the process, on the errors it has no way
// to survive; here such an error faults the incarnation instead, and the
// store replaces it. faultvfs keeps storage faults from ever reaching
// Fatalf; what is left is corruption and broken invariants.
type logger struct {
	fs  *faultvfs.FS
	out pebble.Logger
}

func (l *logger) Infof(string, ...any) {}

func (l *logger) Errorf(format string, args ...any) { l.out.Errorf(format, args...) }

func (l *logger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.out.Errorf("pebble: fatal: %s", msg)
	l.fs.Fault(errors.New(msg))
}
