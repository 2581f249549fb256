package main

// The tests of nodes on one PostgreSQL database joined by a NATS bus, an
// embedded NATS server (internal/natstest) that a test can stop and start.

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/client"
	"github.com/tallyserver/tally/internal/natstest"
)

// TestNATSCarriesChangesBetweenNodes: a member watching through node B sees
// every change made through node A, in Seq order, ending at what
// get_group_counter answers. Then the bus stops, and while it is down node
// A and node C, which has no bus at all, write: once the bus is back, B's
// stream ends at the store's state, which it can only have read (C's
// changes never went on the bus).
func TestNATSCarriesChangesBetweenNodes(t *testing.T) {
	bus := natstest.New(t)
	db := pgCluster(t).CreateDB(t)
	a := newMain(t, "store: "+db+"\nnats_url: "+bus.URL()+"\n"+testConfig())
	b := newMain(t, "store: "+db+"\nnats_url: "+bus.URL()+"\n"+testConfig())
	c := newMain(t, "store: "+db+"\n"+testConfig())
	for _, m := range []*testMain{a, b, c} {
		m.open(t)
	}
	if !strings.Contains(a.stdout.String(), "live changes over NATS") {
		t.Errorf("the banner does not tell of the bus: %q", a.stdout)
	}
	ca := newClient(t, a.URL(), testAdmin)
	createGroup(t, ca, client.CreateGroupRequest{Type: tally.GroupPrivate, Name: "live", GroupID: "live",
		MemberList: []client.NewMember{{MemberAccount: "fan"}}})
	setCounter(t, ca, "live", "likes", 1)

	w := watch(t, newClient(t, b.URL(), "fan"), "live")
	if first := w.next(t); first.Seq != 1 || !slices.Equal(first.GroupCounter, []tally.Counter{{Key: "likes", Value: 1}}) {
		t.Fatalf("first message %+v", first)
	}
	start := time.Now()
	const n = 20
	for range n {
		mustIncrease(t, ca, "live", "likes")
	}
	var likes int64
	for seq := uint64(2); seq <= 1+n; seq++ {
		m := w.next(t)
		if m.Seq != seq {
			t.Fatalf("node B's stream: Seq %d, want %d", m.Seq, seq)
		}
		likes = m.GroupCounter[0].Value
	}
	if got := counterValue(t, newClient(t, b.URL(), testAdmin), "live", "likes"); likes != got || got != 1+n {
		t.Fatalf("node B's stream ended on likes=%d; get_group_counter answers %d", likes, got)
	}
	t.Logf("%d changes through A reached B's stream in %v", n, time.Since(start))

	bus.Stop()
	cc := newClient(t, c.URL(), testAdmin)
	// C writes last, so that no change A sends once the bus is back shows
	// a gap after C's: only a resync finds them.
	var want int64
	for _, api := range []*client.Client{ca, ca, ca, cc, cc, cc} {
		want = mustIncrease(t, api, "live", "likes")
	}
	start = time.Now()
	bus.Start()
	last := uint64(1 + n)
	for likes != want {
		m := w.next(t)
		if m.Seq <= last {
			t.Fatalf("node B's stream went from Seq %d back to %d", last, m.Seq)
		}
		last, likes = m.Seq, m.GroupCounter[0].Value
	}
	if last != 1+n+6 {
		t.Errorf("node B's stream ended at Seq %d, want %d", last, 1+n+6)
	}
	t.Logf("after the bus came back, B's stream converged in %v", time.Since(start))

	// A reload that moves A to another bus warns, without the URL, and
	// keeps it for the next start: A's changes still reach B.
	const pw = "bus-secret-pw"
	writeFile(t, a.ConfigPath, "store: "+db+"\nnats_url: nats://u:"+pw+"@elsewhere:4222\n"+testConfig())
	a.Reload()
	if log := a.stderr.String(); !strings.Contains(log, "setting=nats_url") || strings.Contains(log, pw) {
		t.Errorf("the reload did not warn of nats_url, or showed its password:\n%s", log)
	}
	mustIncrease(t, ca, "live", "likes")
	if m := w.next(t); m.Seq != last+1 {
		t.Errorf("after the reload, node B's stream: Seq %d, want %d", m.Seq, last+1)
	}
}

// TestServeRefusesNATS: a bus without a shared store, a --nats that is not
// a NATS URL, and a bus that does not answer, are refused before the
// server listens.
func TestServeRefusesNATS(t *testing.T) {
	bus := natstest.New(t)
	url := bus.URL()
	m := newMain(t, "nats_url: "+url+"\n"+testConfig())
	if err := m.Open(t.Context()); err == nil || !strings.Contains(err.Error(), "needs store") {
		m.close()
		t.Fatalf("nats_url without a store: Open = %v", err)
	}

	m = newMain(t, testConfig())
	m.Flags.store, m.Flags.nats = "postgres://h/db", "http://u:pw@h:4222"
	if err := m.Open(t.Context()); err == nil || !strings.Contains(err.Error(), `--nats: a "http" URL`) || strings.Contains(err.Error(), "pw") {
		m.close()
		t.Fatalf("--nats of another scheme: Open = %v", err)
	}

	bus.Stop()
	m = newMain(t, "store: "+pgCluster(t).CreateDB(t)+"\nnats_url: "+url+"\n"+testConfig())
	if err := m.Open(t.Context()); err == nil || !strings.Contains(err.Error(), "nats_url: cannot reach the NATS server") {
		m.close()
		t.Fatalf("an unreachable bus: Open = %v", err)
	}
}
