package httpapi

import (
	"fmt"
	"math"

	"github.com/valyala/fastjson"

	"github.com/tallyserver/tally"
)

func (s *Server) updateGroupCounter(c *call) error {
	id, err := groupID(c.body)
	if err != nil {
		return err
	}
	mode := tally.ModeSet
	if name, ok, err := stringField(c.body, "Mode"); err != nil {
		return err
	} else if ok {
		if mode, ok = tally.ParseMode(name); !ok {
			return invalid("Mode %q is not Set, Increase or Decrease", name)
		}
	}
	items, err := counterItems(c.body)
	if err != nil {
		return err
	}
	out, err := s.store.UpdateCounters(c.ctx, c.app.SDKAppID, id, mode, items)
	if err != nil {
		return err
	}
	c.answer.counters(out)
	return nil
}

// counterItems reads and checks GroupCounter: 1..20 objects with a Key of
// 1..128 bytes, each key once, and an integer Value.
func counterItems(o *fastjson.Object) ([]tally.Counter, error) {
	// The names of each item's fields are made once, for the errors
	// that name them: formatting them per call cost a 20-key update a
	// tenth of its CPU.
	list, ok, err := arrayField(o, "GroupCounter")
	if err != nil {
		return nil, err
	}
	switch {
	case !ok:
		return nil, invalid("GroupCounter is required")
	case len(list) == 0:
		return nil, invalid("GroupCounter is empty; give 1 to %d counters", tally.MaxCountersPerCall)
	case len(list) > tally.MaxCountersPerCall:
		return nil, tally.Errorf(tally.ErrTooManyCounters, "GroupCounter has %d items; the limit is %d", len(list), tally.MaxCountersPerCall)
	}
	items := make([]tally.Counter, len(list))
	// The keys are gathered end to end, on the stack while they fit, and
	// made one string at the end, of which each key is a part: one
	// allocation for all of them rather than one each.
	var buf [256]byte
	keys := buf[:0]
	var ends [tally.MaxCountersPerCall]int
	for i, v := range list {
		item, err := v.Object()
		if err != nil {
			return nil, invalid("GroupCounter[%d] must be an object with Key and Value, not %s", i, describe(v))
		}
		name := itemFieldNames[i].key
		kv := lookup(item, "Key")
		if kv == nil {
			return nil, invalid("%s is required", name)
		}
		key, err := kv.StringBytes()
		if err != nil {
			return nil, invalid("%s must be a string, not %s", name, describe(kv))
		}
		if err := tally.CheckCounterKey(name, key); err != nil {
			return nil, err
		}
		start := 0
		for j := range i {
			// Keys that differ mostly differ in their last byte ("k01",
			// "k02"), which is cheaper to compare than calling memeq for
			// each of a 20-key call's 190 pairs. Neither key is empty.
			if k := keys[start:ends[j]]; len(k) == len(key) && k[len(k)-1] == key[len(key)-1] && string(k) == string(key) {
				return nil, invalid("GroupCounter[%d].Key %q repeats GroupCounter[%d]; a key may appear once", i, key, j)
			}
			start = ends[j]
		}
		keys = append(keys, key...)
		ends[i] = len(keys)
		vname := itemFieldNames[i].value
		val := lookup(item, "Value")
		if val == nil {
			return nil, invalid("%s is required", vname)
		}
		n, err := intValue(val, vname, math.MinInt64, math.MaxInt64)
		if err != nil {
			return nil, err
		}
		items[i].Value = n
	}
	all := string(keys)
	start := 0
	for i := range items {
		items[i].Key, start = all[start:ends[i]], ends[i]
	}
	return items, nil
}

func (s *Server) getGroupCounter(c *call) error {
	id, keys, err := groupAndKeys(c.body)
	if err != nil {
		return err
	}
	cs, err := s.store.Counters(c.ctx, c.app.SDKAppID, id, keys)
	if err != nil {
		return err
	}
	c.answer.counters(cs)
	return nil
}

func (s *Server) deleteGroupCounter(c *call) error {
	id, keys, err := groupAndKeys(c.body)
	if err != nil {
		return err
	}
	return s.store.DeleteCounters(c.ctx, c.app.SDKAppID, id, keys)
}

// groupAndKeys reads the GroupId and GroupCounterKeys that get and delete
// share.
func groupAndKeys(o *fastjson.Object) (string, []string, error) {
	id, err := groupID(o)
	if err != nil {
		return "", nil, err
	}
	keys, err := counterKeys(o)
	return id, keys, err
}

// itemFieldNames are the names of the fields of each GroupCounter item,
// as errors give them.
var itemFieldNames = func() (names [tally.MaxCountersPerCall]struct{ key, value string }) {
	for i := range names {
		names[i].key = fmt.Sprintf("GroupCounter[%d].Key", i)
		names[i].value = fmt.Sprintf("GroupCounter[%d].Value", i)
	}
	return names
}()
