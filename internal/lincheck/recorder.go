package lincheck

import (
	"math"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// Recorder records a concurrent history of calls, for Check. Its methods
// may be called from any goroutine.
//
// Times are read from one monotonic clock. A call's time is read before
// its request is sent and its answer's after the answer is read whole, so
// each recorded interval holds the real one: a wider interval lets the
// checker place a call at more instants, which can hide a violation but
// never make one up.
type Recorder struct {
	start time.Time

	mu  sync.Mutex
	ops []*porcupine.Operation
}

// NewRecorder returns an empty recorder whose clock starts now.
func NewRecorder() *Recorder {
	return &Recorder{start: time.Now()}
}

// Call is a call under way.
type Call struct {
	r  *Recorder
	op *porcupine.Operation
}

// Begin records that client is making the call in, now; meta is shown
// beside the call in the visualization (such as the node that served it).
// The client must make the call only after Begin returns.
//
// Each client makes one call at a time, and clients are numbered from 0,
// as porcupine's visualization expects.
func (r *Recorder) Begin(client int, in Input, meta any) *Call {
	op := &porcupine.Operation{ClientId: client, Input: in, Metadata: meta,
		Call: r.now(), Output: Output{Unknown: true}, Return: math.MaxInt64}
	r.mu.Lock()
	r.ops = append(r.ops, op)
	r.mu.Unlock()
	return &Call{r: r, op: op}
}

// End records the call's answer, now; the answer must have been read
// whole. An Unknown answer is recorded as arriving at the end of time,
// after every other call, which is how porcupine takes a call whose effect
// may or may not have happened: it may place the call anywhere after its
// start, including after everything, where it shows in no answer.
func (c *Call) End(out Output) {
	ret := c.r.now()
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	c.op.Output = out
	if !out.Unknown {
		c.op.Return = ret
	}
}

// Operations returns the history so far. A call that has not ended is in
// it as Unknown, as if its client had given up waiting.
func (r *Recorder) Operations() []porcupine.Operation {
	r.mu.Lock()
	defer r.mu.Unlock()
	ops := make([]porcupine.Operation, len(r.ops))
	for i, op := range r.ops {
		ops[i] = *op
	}
	return ops
}

// now reads the recorder's clock in nanoseconds since its start; time.Since
// uses the monotonic reading, which no clock step can move backward.
func (r *Recorder) now() int64 {
	return int64(time.Since(r.start))
}
