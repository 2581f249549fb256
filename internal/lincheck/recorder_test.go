package lincheck

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// TestRecorder records calls that answer, one that is unknown and one
// still under way, and checks their times and outputs.
func TestRecorder(t *testing.T) {
	r := NewRecorder()
	w := r.Begin(0, set(c("a", 1)), "node 0")
	w.End(ok(c("a", 1)))
	g := r.Begin(1, get("a"), "node 1")
	u := r.Begin(2, inc(c("a", 1)), "node 2")
	u.End(unknown)
	r.Begin(3, get(), "node 0") // never ends
	g.End(ok(c("a", 1)))

	ops := r.Operations()
	if len(ops) != 4 {
		t.Fatalf("%d calls recorded, want 4", len(ops))
	}
	for i, o := range ops {
		if o.ClientId != i {
			t.Errorf("call %d: client %d", i, o.ClientId)
		}
		if o.Return < o.Call {
			t.Errorf("call %d: answered at %d, before it was made at %d", i, o.Return, o.Call)
		}
	}
	if ops[0].Return > ops[1].Call {
		t.Errorf("the first call ended at %d, after the second began at %d", ops[0].Return, ops[1].Call)
	}
	if ops[1].Return < ops[2].Call {
		t.Errorf("the read ended at %d, before the increase that began during it at %d", ops[1].Return, ops[2].Call)
	}
	for _, i := range []int{2, 3} {
		if ops[i].Return != math.MaxInt64 || !ops[i].Output.(Output).Unknown {
			t.Errorf("call %d: answered %v at %d, want unknown at the end of time", i, ops[i].Output, ops[i].Return)
		}
	}
	res := Check(ops, 5*time.Second)
	if res.Verdict != porcupine.Ok || res.Calls != 4 || res.Unknown != 2 || res.MaxInFlight != 3 {
		t.Errorf("check: %+v, want Ok, 4 calls, 2 unknown, 3 in flight", res)
	}
}

// TestVisualize writes the visualization of a history that is not
// linearizable, which names its calls.
func TestVisualize(t *testing.T) {
	res := Check([]porcupine.Operation{
		op(0, 0, 10, inc(c("a", 2), c("b", 1)), ok(c("a", 2), c("b", 1))),
		op(1, 20, 30, get(), ok()),
	}, 5*time.Second)
	if res.Verdict != porcupine.Illegal {
		t.Fatalf("verdict %s, want Illegal", res.Verdict)
	}
	path := filepath.Join(t.TempDir(), "v.html")
	if err := res.Visualize(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<html", "Increase a+2 b+1 → {a=2 b=1}", "get * → {}"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the visualization lacks %q", want)
		}
	}
}
