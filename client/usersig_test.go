package client_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/client"
	"github.com/tallyserver/tally/usersig"
)

// TestSigRenewal moves one clock, the client's and the server's, through
// a sig's life: the client sends the same sig until shortly before it
// expires, then a new one, and the server takes every one.
func TestSigRenewal(t *testing.T) {
	s := startServer(t)
	clk := newClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s.api.Now = clk.Now
	c := s.client(t, client.WithClock(clk.Now), client.WithSigLifetime(time.Hour))
	ctx := context.Background()

	// sent makes a call and returns the sig it carried, decoded.
	sent := func() *usersig.Sig {
		t.Helper()
		_, err := c.GetAppIDGroupList(ctx, client.GetAppIDGroupListRequest{})
		must(t, "get_appid_group_list at "+clk.Now().Format(time.TimeOnly), err)
		sig, err := usersig.Decode(s.last(t).Query.Get("usersig"))
		must(t, "decoding the sig", err)
		return sig
	}
	t0 := clk.Now().Unix()
	first := sent()
	if first.Time != t0 || first.Expire != 3600 || first.Identifier != admin || first.SDKAppID != appMain {
		t.Fatalf("first sig: %+v, want issued at %d for 3600 s to %s of %d", first, t0, admin, appMain)
	}
	// A one-hour sig is renewed in its last five minutes.
	for _, step := range []struct {
		advance  time.Duration
		wantTime int64 // TLS.time of the sig sent after the advance
	}{
		{time.Minute, t0},
		{53 * time.Minute, t0},
		{time.Minute - time.Second, t0},
		{time.Second, t0 + 55*60},
		{54 * time.Minute, t0 + 55*60},
		{2 * time.Minute, t0 + 111*60},
	} {
		clk.Advance(step.advance)
		if got := sent().Time; got != step.wantTime {
			t.Errorf("at %v: sent a sig issued at %+d s, want %+d s", clk.Now().Format(time.TimeOnly), got-t0, step.wantTime-t0)
		}
	}
}

// TestSigShared has many goroutines call at once with a sig due for
// renewal, for the race detector: one sig is made and all use it.
func TestSigShared(t *testing.T) {
	s := startServer(t)
	clk := newClock(time.Now())
	s.api.Now = clk.Now
	c := s.client(t, client.WithClock(clk.Now), client.WithSigLifetime(time.Minute))
	var wg sync.WaitGroup
	for range 2 {
		clk.Advance(time.Minute)
		for range 8 {
			wg.Go(func() {
				if _, err := c.GetAppIDGroupList(context.Background(), client.GetAppIDGroupListRequest{}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	sigs := map[string]bool{}
	s.mu.Lock()
	for _, r := range s.received {
		sigs[r.Query.Get("usersig")] = true
	}
	s.mu.Unlock()
	if len(sigs) != 2 {
		t.Errorf("16 calls in two rounds sent %d sigs, want one a round", len(sigs))
	}
}

// TestFixedSig sends a sig made elsewhere, as it is, on every call.
func TestFixedSig(t *testing.T) {
	s := startServer(t)
	sig := usersig.Sign(appMain, keyMain, admin, 600, time.Now())
	c := s.clientAs(t, appMain, admin, client.WithUserSig(sig))
	for range 2 {
		_, err := c.GetAppIDGroupList(context.Background(), client.GetAppIDGroupListRequest{})
		must(t, "get_appid_group_list", err)
		if got := s.last(t).Query.Get("usersig"); got != sig {
			t.Errorf("sent usersig %q, want %q", got, sig)
		}
	}
}

// TestExpiredSig signs by a clock two days behind the server's, so that
// the server finds every sig expired.
func TestExpiredSig(t *testing.T) {
	s := startServer(t)
	behind := func() time.Time { return time.Now().Add(-48 * time.Hour) }
	c := s.client(t, client.WithClock(behind))
	_, err := c.CreateGroup(context.Background(), client.CreateGroupRequest{Type: tally.GroupPublic, Name: "g"})
	wantCode(t, err, tally.ErrUserSigExpired)
}
