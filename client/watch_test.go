package client_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/client"
)

func TestWatch(t *testing.T) {
	s := startServer(t)
	c := s.client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.CreateGroup(ctx, client.CreateGroupRequest{Type: tally.GroupPublic, Name: "n", GroupID: "w"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateGroupCounter(ctx, client.UpdateGroupCounterRequest{GroupID: "w", GroupCounter: []tally.Counter{{Key: "a", Value: 1}, {Key: "b", Value: 2}}}); err != nil {
		t.Fatal(err)
	}

	st, err := c.Watch(ctx, "w")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	next := func() client.Message {
		t.Helper()
		m, err := st.Next()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := next(); m.GroupID != "w" || m.Seq != 1 || !slices.Equal(m.GroupCounter, []tally.Counter{{Key: "a", Value: 1}, {Key: "b", Value: 2}}) {
		t.Fatalf("the first message %+v is not the group's state", m)
	}
	if _, err := c.UpdateGroupCounter(ctx, client.UpdateGroupCounterRequest{GroupID: "w", Mode: client.ModeIncrease, GroupCounter: []tally.Counter{{Key: "a", Value: 5}}}); err != nil {
		t.Fatal(err)
	}
	if m := next(); m.Seq != 2 || !slices.Equal(m.GroupCounter, []tally.Counter{{Key: "a", Value: 6}}) {
		t.Fatalf("the change's message is %+v", m)
	}
	if err := c.DeleteGroupCounter(ctx, client.DeleteGroupCounterRequest{GroupID: "w", GroupCounterKeys: []string{"b"}}); err != nil {
		t.Fatal(err)
	}
	if m := next(); m.Seq != 3 || !slices.Equal(m.Deleted, []string{"b"}) {
		t.Fatalf("the delete's message is %+v", m)
	}
	if err := c.DestroyGroup(ctx, client.DestroyGroupRequest{GroupID: "w"}); err != nil {
		t.Fatal(err)
	}
	if m := next(); !m.Destroyed {
		t.Fatalf("the destroy's message is %+v", m)
	}
	if _, err := st.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the group's last message: %v, want io.EOF", err)
	}

	// A refusal is an *Error with its code.
	var e *client.Error
	if _, err := c.Watch(ctx, "nope"); !errors.As(err, &e) || e.Code != tally.ErrGroupNotFound {
		t.Fatalf("Watch of a missing group: %v", err)
	}
}
