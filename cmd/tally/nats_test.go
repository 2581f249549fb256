package main

// The tests of nodes on one PostgreSQL database joined by a NATS bus, an
// embedded NATS server (internal/natstest) that a test can stop and start.

import (
	"io"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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
	w := changesReachB(t, ca, newClient(t, b.URL(), testAdmin), newClient(t, b.URL(), "fan"))
	const n = crossIncreases

	bus.Stop()
	cc := newClient(t, c.URL(), testAdmin)
	// C writes last, so that no change A sends once the bus is back shows
	// a gap after C's: only a resync finds them.
	var want int64
	for _, api := range []*client.Client{ca, ca, ca, cc, cc, cc} {
		want = mustIncrease(t, api, "live", "likes")
	}
	start := time.Now()
	bus.Start()
	last := readUntil(t, w, 1+n, want)
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

// busLink relays one node's connection to the NATS server, so that a test
// can cut the bus from that node alone while the other nodes keep it: the
// NATS server cannot drop one client and refuse it for a while, and
// stopping it, as TestNATSCarriesChangesBetweenNodes does, cuts every
// node at once.
type busLink struct {
	t      *testing.T
	ln     net.Listener
	target string // the NATS server's host:port

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]bool // both ends of every relayed connection
}

// newBusLink relays to the NATS server at natsURL until the test ends.
func newBusLink(t *testing.T, natsURL string) *busLink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &busLink{t: t, ln: ln, target: strings.TrimPrefix(natsURL, "nats://"), conns: make(map[net.Conn]bool)}
	go l.accept()
	t.Cleanup(func() {
		ln.Close()
		l.Cut()
	})
	return l
}

// URL is the NATS URL to give the node instead of the server's.
func (l *busLink) URL() string { return "nats://" + l.ln.Addr().String() }

func (l *busLink) accept() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return // the test has ended
		}
		l.mu.Lock()
		cut := l.cut
		l.mu.Unlock()
		if cut {
			// The node's reconnects fail, as they would with the
			// server out of its reach.
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", l.target)
		if err != nil {
			c.Close()
			continue
		}
		l.mu.Lock()
		l.conns[c], l.conns[s] = true, true
		l.mu.Unlock()
		go l.copy(s, c)
		go l.copy(c, s)
	}
}

// copy relays from one end to the other until either is closed, and then
// closes both, as a broken link would.
func (l *busLink) copy(dst, src net.Conn) {
	io.Copy(dst, src) // the error is the cut, or the end of the connection
	dst.Close()
	src.Close()
	l.mu.Lock()
	delete(l.conns, dst)
	delete(l.conns, src)
	l.mu.Unlock()
}

// Cut closes the relayed connections, and refuses new ones until Restore.
func (l *busLink) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = true
	for c := range l.conns {
		c.Close()
	}
}

// Restore lets the node connect again.
func (l *busLink) Restore() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = false
}

// waitLog waits up to 10 seconds for s's log to hold line.
func waitLog(t *testing.T, s *server, line string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.stderr.String(), line) {
		if time.Now().After(deadline) {
			t.Fatalf("the log does not say %q within 10s:\n%s", line, s.stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestNATSBetweenProcesses runs two tally serve processes on one
// PostgreSQL database and one NATS server, A configured by its file and B
// by --store and --nats, so that nothing in one process's memory can carry
// a change to the other: a member watching through B's stream sees every
// change written through A's REST API, in Seq order, ending on what B's
// get_group_counter answers. Then B alone loses the bus, through a relay
// the test cuts, while A, which keeps it, writes: A's changes go on the
// bus and are lost to B, and no write follows once B is back, so no gap
// can show them. B's stream must still end at the latest durable value,
// which only the resync of B's reconnect can have read.
// TestNATSCarriesChangesBetweenNodes covers a bus that stops for every
// node, in one process.
func TestNATSBetweenProcesses(t *testing.T) {
	needBinary(t)
	db := pgCluster(t).CreateDB(t)
	bus := natstest.New(t)
	link := newBusLink(t, bus.URL())
	dir := t.TempDir()
	cfgA := writeFile(t, filepath.Join(dir, "a.yaml"), "store: "+db+"\nnats_url: "+bus.URL()+"\n"+testConfig())
	cfgB := writeFile(t, filepath.Join(dir, "b.yaml"), testConfig())
	a := startServer(t, "serve", "--config", cfgA, "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "a"))
	b := startServer(t, "serve", "--config", cfgB, "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "b"),
		"--store", db, "--nats", link.URL())
	for _, s := range []*server{a, b} {
		if s.database == "" || !strings.Contains(s.stdout.String(), "live changes over NATS") {
			t.Fatalf("the banner tells of no database or no bus:\n%s", s.stdout)
		}
	}

	ca, cb := newClient(t, a.base, testAdmin), newClient(t, b.base, testAdmin)
	w := changesReachB(t, ca, cb, newClient(t, b.base, "fan"))
	const n = crossIncreases

	link.Cut()
	waitLog(t, b, "nats bus lost")
	// B reads its watched groups once on the loss too; the writes wait
	// for that read to be done, so that only the reconnect's can find
	// them.
	time.Sleep(200 * time.Millisecond)
	const k = 5
	var want int64
	for range k {
		want = mustIncrease(t, ca, "live", "likes")
	}
	// The loss costs B's streams, never its REST API, which reads the
	// store.
	if got := counterValue(t, cb, "live", "likes"); got != want {
		t.Fatalf("node B without its bus: get_group_counter answers %d, want %d", got, want)
	}
	select {
	case m := <-w.msgs:
		t.Fatalf("node B's stream had %+v while its bus was cut: the test does not cut what it means to", m)
	case <-time.After(200 * time.Millisecond):
	}

	start := time.Now()
	link.Restore()
	last := readUntil(t, w, 1+n, want)
	if last != 1+n+k {
		t.Errorf("node B's stream ended at Seq %d, want %d", last, 1+n+k)
	}
	if got := counterValue(t, cb, "live", "likes"); got != want {
		t.Errorf("node B's stream ended on likes=%d; B's get_group_counter answers %d", want, got)
	}
	t.Logf("after its bus came back, process B's stream converged in %v", time.Since(start))
	waitLog(t, b, "nats bus back")
}

// crossIncreases is how many increases changesReachB makes after setting
// likes to 1.
const crossIncreases = 20

// changesReachB creates group "live" through node A's client ca, with
// member fan, watches it on node B as fan, and checks that 20 increases
// through A reach B's stream one by one, in Seq order, ending on what B's
// get_group_counter answers (through cb). It returns the watcher, for
// more.
func changesReachB(t *testing.T, ca, cb, fan *client.Client) *watcher {
	t.Helper()
	createGroup(t, ca, client.CreateGroupRequest{Type: tally.GroupPrivate, Name: "live", GroupID: "live",
		MemberList: []client.NewMember{{MemberAccount: "fan"}}})
	setCounter(t, ca, "live", "likes", 1)
	w := watch(t, fan, "live")
	if first := w.next(t); first.Seq != 1 || !slices.Equal(first.GroupCounter, []tally.Counter{{Key: "likes", Value: 1}}) {
		t.Fatalf("node B's first message %+v", first)
	}
	start := time.Now()
	const n = crossIncreases
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
	if got := counterValue(t, cb, "live", "likes"); likes != got || got != 1+n {
		t.Fatalf("node B's stream ended on likes=%d; B's get_group_counter answers %d", likes, got)
	}
	t.Logf("%d changes through A reached B's stream in %v", n, time.Since(start))
	return w
}

// readUntil reads w, whose stream is at Seq last, until likes is want,
// failing if a Seq goes back, and returns the last Seq read.
func readUntil(t *testing.T, w *watcher, last uint64, want int64) uint64 {
	t.Helper()
	for likes := int64(-1); likes != want; {
		m := w.next(t)
		if m.Seq <= last {
			t.Fatalf("node B's stream went from Seq %d back to %d", last, m.Seq)
		}
		last, likes = m.Seq, m.GroupCounter[0].Value
	}
	return last
}
