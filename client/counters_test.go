package client_test

import (
	"context"
	"math"
	"reflect"
	"testing"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/client"
)

// TestCounters sets, moves, reads and deletes a group's counters, with
// values at the ends of int64, which must come back exact.
func TestCounters(t *testing.T) {
	s := startServer(t)
	c := s.client(t)
	ctx := context.Background()
	_, err := c.CreateGroup(ctx, client.CreateGroupRequest{Type: tally.GroupPublic, Name: "g", GroupID: "g"})
	must(t, "create_group", err)

	steps := []struct {
		mode  client.Mode
		items []tally.Counter
		want  []tally.Counter
	}{
		{"", []tally.Counter{{Key: "max", Value: math.MaxInt64}, {Key: "min", Value: math.MinInt64}}, []tally.Counter{{Key: "max", Value: math.MaxInt64}, {Key: "min", Value: math.MinInt64}}},
		{client.ModeSet, []tally.Counter{{Key: "likes", Value: 5}}, []tally.Counter{{Key: "likes", Value: 5}}},
		{client.ModeIncrease, []tally.Counter{{Key: "likes", Value: 3}, {Key: "views", Value: 1}}, []tally.Counter{{Key: "likes", Value: 8}, {Key: "views", Value: 1}}},
		{client.ModeDecrease, []tally.Counter{{Key: "likes", Value: 10}}, []tally.Counter{{Key: "likes", Value: -2}}},
	}
	for _, st := range steps {
		ans, err := c.UpdateGroupCounter(ctx, client.UpdateGroupCounterRequest{GroupID: "g", Mode: st.mode, GroupCounter: st.items})
		must(t, "update_group_counter "+string(st.mode), err)
		if !reflect.DeepEqual(ans.GroupCounter, st.want) {
			t.Errorf("update_group_counter %q %v: answered %v, want %v", st.mode, st.items, ans.GroupCounter, st.want)
		}
	}

	reads := []struct {
		keys []string
		want []tally.Counter
	}{
		{nil, []tally.Counter{{Key: "likes", Value: -2}, {Key: "max", Value: math.MaxInt64}, {Key: "min", Value: math.MinInt64}, {Key: "views", Value: 1}}},
		{[]string{"views", "nope", "likes"}, []tally.Counter{{Key: "views", Value: 1}, {Key: "likes", Value: -2}}},
	}
	for _, r := range reads {
		ans, err := c.GetGroupCounter(ctx, client.GetGroupCounterRequest{GroupID: "g", GroupCounterKeys: r.keys})
		must(t, "get_group_counter", err)
		if !reflect.DeepEqual(ans.GroupCounter, r.want) {
			t.Errorf("get_group_counter %v: %v, want %v", r.keys, ans.GroupCounter, r.want)
		}
	}

	must(t, "delete_group_counter", c.DeleteGroupCounter(ctx, client.DeleteGroupCounterRequest{GroupID: "g", GroupCounterKeys: []string{"max", "min"}}))
	ans, err := c.GetGroupCounter(ctx, client.GetGroupCounterRequest{GroupID: "g"})
	must(t, "get_group_counter", err)
	if want := []tally.Counter{{Key: "likes", Value: -2}, {Key: "views", Value: 1}}; !reflect.DeepEqual(ans.GroupCounter, want) {
		t.Errorf("after deleting two: %v, want %v", ans.GroupCounter, want)
	}
	must(t, "delete_group_counter", c.DeleteGroupCounter(ctx, client.DeleteGroupCounterRequest{GroupID: "g"}))
	ans, err = c.GetGroupCounter(ctx, client.GetGroupCounterRequest{GroupID: "g"})
	must(t, "get_group_counter", err)
	if ans.GroupCounter == nil || len(ans.GroupCounter) != 0 {
		t.Errorf("after deleting every counter: %#v, want []", ans.GroupCounter)
	}
}
