package storecheck_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/storecheck"
	"github.com/tallyserver/tally/pebble"
	"github.com/tallyserver/tally/storetest"
)

var ctx = context.Background()

// populated returns two stores that hold the same: one that
// storetest.Populate filled, and a checkpoint of it. (Populate makes
// groups with generated ids, so two runs of it differ.)
func populated(t *testing.T) (a, b *pebble.Store) {
	t.Helper()
	open := func(dir string) *pebble.Store {
		s, err := pebble.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a = open(t.TempDir())
	storetest.Populate(t, a)
	dup := t.TempDir() + "/copy"
	if err := a.Checkpoint(dup); err != nil {
		t.Fatal(err)
	}
	return a, open(dup)
}

// TestSame compares two stores filled alike: every app matches, with the
// counts of what Populate made, and Sum agrees with Compare.
func TestSame(t *testing.T) {
	a, b := populated(t)
	want := map[uint32]string{
		storetest.PopulatedApps[0]: "7 groups (1 Private, 2 Public, 2 ChatRoom, 1 AVChatRoom, 1 Community), 54 members, 8 counters",
		storetest.PopulatedApps[1]: "2 groups (0 Private, 1 Public, 1 ChatRoom, 0 AVChatRoom, 0 Community), 3 members, 1 counters",
		7:                          "0 groups (0 Private, 0 Public, 0 ChatRoom, 0 AVChatRoom, 0 Community), 0 members, 0 counters",
	}
	for app, counts := range want {
		r, err := storecheck.Compare(ctx, app, a, b)
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK() || r.A != r.B {
			t.Errorf("app %d: %v\n%v\n%v", app, r.Diffs, r.A, r.B)
		}
		if !strings.HasPrefix(r.A.String(), counts+", sha256 ") {
			t.Errorf("app %d: %v, want %s", app, r.A, counts)
		}
		sum, err := storecheck.Sum(ctx, a, app)
		if err != nil || sum != r.A {
			t.Errorf("app %d: Sum = %v, %v; want what Compare found, %v", app, sum, err, r.A)
		}
	}
}

// TestDifferences changes one thing in the second of two stores filled
// alike, and expects Compare to find it and say where, and the sums to
// differ.
func TestDifferences(t *testing.T) {
	app := storetest.PopulatedApps[0]
	tests := []struct {
		name   string
		change func(t *testing.T, s tally.Store) error
		want   string
	}{
		{"a counter", func(t *testing.T, s tally.Store) error {
			_, err := s.UpdateCounters(ctx, app, "private-1", tally.ModeIncrease, []tally.Counter{{Key: "likes", Value: 1}})
			return err
		}, `group "private-1": its counters differ`},
		{"a NUL byte more in a custom field", func(t *testing.T, s tally.Store) error {
			return s.ModifyGroup(ctx, app, "private-1", &tally.GroupChange{AppDefinedData: []tally.CustomField{{Key: "k0", Value: "\x00\x00"}}}, 1700000000)
		}, `group "private-1": its fields differ`},
		{"a member", func(t *testing.T, s tally.Store) error {
			_, err := s.AddMembers(ctx, app, "chat", []string{"m9"}, 1700000099)
			return err
		}, `group "chat": its members differ`},
		{"a destroyed group", func(t *testing.T, s tally.Store) error {
			return s.DestroyGroup(ctx, app, "again")
		}, "store a holds 1 groups more, from number 7"},
		{"a group more", func(t *testing.T, s tally.Store) error {
			return s.CreateGroup(ctx, app, &tally.Group{ID: "extra", Type: tally.GroupPublic, Name: "x", InfoSeq: 1}, nil)
		}, "store b holds 1 groups more, from number 8"},
		{"another order", func(t *testing.T, s tally.Store) error {
			if err := s.DestroyGroup(ctx, app, "chat"); err != nil {
				return err
			}
			return s.CreateGroup(ctx, app, &tally.Group{ID: "chat", Type: tally.GroupChatRoom, Name: "ChatRoom chat", InfoSeq: 1}, nil)
		}, `group number 3 of the creation order is ChatRoom "chat" in store a, and AVChatRoom`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := populated(t)
			if err := tt.change(t, b); err != nil {
				t.Fatal(err)
			}
			r, err := storecheck.Compare(ctx, app, a, b)
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() || r.A.Sum == r.B.Sum || !strings.Contains(strings.Join(r.Diffs, "\n"), tt.want) {
				t.Errorf("Compare found %q (sums %x and %x), want %q", r.Diffs, r.A.Sum[:4], r.B.Sum[:4], tt.want)
			}
			// The other app is untouched.
			if r, err := storecheck.Compare(ctx, storetest.PopulatedApps[1], a, b); err != nil || !r.OK() {
				t.Errorf("the other app: %v, %v", r.Diffs, err)
			}
		})
	}
}
