package nats

import "github.com/tallyserver/tally"

// wire is a change as the bus carries it: JSON with short names, since a
// change goes to every node, and only the fields it has.
type wire struct {
	App       uint32        `json:"a"`
	GroupID   string        `json:"g"`
	Seq       uint64        `json:"s"`
	Counters  []wireCounter `json:"c,omitempty"`
	Deleted   []string      `json:"d,omitempty"`
	Destroyed bool          `json:"x,omitempty"`
}

type wireCounter struct {
	Key   string `json:"k"`
	Value int64  `json:"v"`
}

func encode(c tally.Change) wire {
	w := wire{App: c.App, GroupID: c.GroupID, Seq: c.Seq, Deleted: c.Deleted, Destroyed: c.Destroyed}
	if len(c.Counters) > 0 {
		w.Counters = make([]wireCounter, len(c.Counters))
		for i, kv := range c.Counters {
			w.Counters[i] = wireCounter(kv)
		}
	}
	return w
}

func (w *wire) change() tally.Change {
	c := tally.Change{App: w.App, GroupID: w.GroupID, Seq: w.Seq, Deleted: w.Deleted, Destroyed: w.Destroyed}
	if len(w.Counters) > 0 {
		c.Counters = make([]tally.Counter, len(w.Counters))
		for i, kv := range w.Counters {
			c.Counters[i] = tally.Counter(kv)
		}
	}
	return c
}
