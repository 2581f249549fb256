package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tallyserver/tally"
)

// The hub's tests drive it with a model of a store's feed: groups whose
// changes are told in Seq order from one goroutine at a time, as
// tally.ChangeFeed promises, and whose state a Reader reads. It lets a
// test hold a read back, skip telling a change (a gap) and make reads
// fail, which a real store cannot be made to do on cue. The HTTP tests
// run the hub on the real stores.

const testApp = 1400000001

type model struct {
	hub *Hub

	mu     sync.Mutex
	groups map[string]*modelGroup
	// gate, when set, holds the next read back.
	gate *gate
	// fail, while above 0, fails that many reads with an internal error.
	fail  int
	reads int
	// lazy leaves the fan-outs to the hub's goroutine, at its pace;
	// otherwise each change told is fanned out before change returns, so
	// that a test sees what each change makes of its subscribers.
	lazy bool
}

type modelGroup struct {
	seq      uint64
	counters map[string]int64
}

func newModel(t testing.TB, opt Options) *model {
	m := &model{groups: map[string]*modelGroup{}}
	m.hub = New(m.read, opt)
	t.Cleanup(m.hub.Close)
	return m
}

// gate holds a read of group id back: it tells parked when the read
// waits, reads once release is closed, and tells read when it has read.
type gate struct {
	id                    string
	parked, release, read chan struct{}
}

// hold makes the next read of group id wait until the returned function
// is called, which returns once the read has read.
func (m *model) hold(id string) (waitParked func(), release func()) {
	g := &gate{id: id, parked: make(chan struct{}, 1), release: make(chan struct{}), read: make(chan struct{}, 1)}
	m.mu.Lock()
	m.gate = g
	m.mu.Unlock()
	return func() { <-g.parked }, func() {
		close(g.release)
		<-g.read
	}
}

func (m *model) read(ctx context.Context, app uint32, id string) (uint64, []tally.Counter, error) {
	m.mu.Lock()
	gt := m.gate
	if gt != nil && gt.id == id {
		m.gate = nil
	} else {
		gt = nil
	}
	m.mu.Unlock()
	if gt != nil {
		gt.parked <- struct{}{}
		select {
		case <-gt.release:
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
		defer func() { gt.read <- struct{}{} }()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	if m.fail > 0 {
		m.fail--
		return 0, nil, errors.New("the model's disk is on fire")
	}
	g := m.groups[id]
	if app != testApp || g == nil {
		return 0, nil, tally.Errorf(tally.ErrGroupNotFound, "group %q does not exist", id)
	}
	return g.seq, sorted(g.counters), nil
}

func sorted(m map[string]int64) []tally.Counter {
	var cs []tally.Counter
	for _, k := range slices.Sorted(maps.Keys(m)) {
		cs = append(cs, tally.Counter{Key: k, Value: m[k]})
	}
	return cs
}

func (m *model) create(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.groups[id] = &modelGroup{counters: map[string]int64{}}
}

// change sets and deletes keys of group id as one change, and tells it
// unless tell is false.
func (m *model) change(id string, set map[string]int64, del []string, tell bool) tally.Change {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.groups[id]
	g.seq++
	c := tally.Change{App: testApp, GroupID: id, Seq: g.seq, Counters: sorted(set)}
	for k, v := range set {
		g.counters[k] = v
	}
	for _, k := range slices.Sorted(slices.Values(del)) {
		if _, ok := g.counters[k]; ok {
			delete(g.counters, k)
			c.Deleted = append(c.Deleted, k)
		}
	}
	if tell {
		m.hub.Publish(c)
		if !m.lazy {
			m.hub.fanOutNow(testApp, id)
		}
	}
	return c
}

func (m *model) set(id, key string, v int64) { m.change(id, map[string]int64{key: v}, nil, true) }

func (m *model) destroy(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.groups[id]
	delete(m.groups, id)
	m.hub.Publish(tally.Change{App: testApp, GroupID: id, Seq: g.seq, Destroyed: true})
}

func (m *model) state(id string) (uint64, map[string]int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g := m.groups[id]
	return g.seq, maps.Clone(g.counters)
}

// message is a stream message, decoded.
type message struct {
	GroupId      string
	Seq          uint64
	GroupCounter []tally.Counter
	Deleted      []string
	Destroyed    bool
}

func decode(t testing.TB, b []byte) message {
	t.Helper()
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("message %s: %v", b, err)
	}
	return m
}

// view is what a client makes of the messages of its groups, by the one
// rule: set GroupCounter's keys, remove Deleted's. It checks that each
// group's Seqs never go back and that a group's first message is whole.
type view struct {
	seq       map[string]uint64
	seen      map[string]bool
	counters  map[string]map[string]int64
	destroyed map[string]bool
	msgs      int
}

func newView() *view {
	return &view{seq: map[string]uint64{}, seen: map[string]bool{}, counters: map[string]map[string]int64{}, destroyed: map[string]bool{}}
}

func (v *view) take(msg message) error {
	v.msgs++
	id := msg.GroupId
	if v.destroyed[id] {
		return fmt.Errorf("message after group %q was destroyed: %+v", id, msg)
	}
	if v.seen[id] && msg.Seq < v.seq[id] {
		return fmt.Errorf("group %q went back from Seq %d to %d", id, v.seq[id], msg.Seq)
	}
	if v.seen[id] && msg.Seq == v.seq[id] && !msg.Destroyed {
		return fmt.Errorf("group %q: Seq %d told twice", id, msg.Seq)
	}
	v.seen[id], v.seq[id] = true, msg.Seq
	if msg.Destroyed {
		v.destroyed[id] = true
		return nil
	}
	if v.counters[id] == nil {
		v.counters[id] = map[string]int64{}
	}
	for _, c := range msg.GroupCounter {
		v.counters[id][c.Key] = c.Value
	}
	for _, k := range msg.Deleted {
		delete(v.counters[id], k)
	}
	return nil
}

// drain takes every message s has now.
func drain(t testing.TB, s *Sub, v *view) []message {
	t.Helper()
	var out []message
	for {
		b, ok := s.Next()
		if !ok {
			return out
		}
		m := decode(t, b)
		if err := v.take(m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
}

// settle waits until the hub has no read under way and every message s
// has is taken into v.
func settle(t testing.TB, m *model, s *Sub, v *view) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		drain(t, s, v)
		if idle(m.hub) {
			drain(t, s, v)
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the hub's reads did not end within 5s")
}

// idle reports whether no group has a read under way and every group's
// state is known, and as new as the last read showed.
func idle(h *Hub) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, g := range h.groups {
		g.mu.Lock()
		busy := g.reading || !g.known || g.seq < g.ahead || g.dirty
		g.mu.Unlock()
		if busy {
			return false
		}
	}
	return true
}

// fanOutNow fans out group id of app at once, if it is due: for tests,
// which tell the subscribers of each change in turn.
func (h *Hub) fanOutNow(app uint32, id string) {
	h.mu.Lock()
	g := h.groups[groupKey{app, id}]
	h.mu.Unlock()
	if g != nil {
		g.mu.Lock()
		if g.dirty {
			g.fanOut(h, time.Now())
		}
		g.mu.Unlock()
	}
}
