package postgres_test

import (
	"net"
	"sync"
	"testing"
)

// relay accepts connections on loopback and dials the server for each;
// the test's pipe forwards each pair, returning the two functions that
// carry one direction each, which run on goroutines of their own. The
// tests' proxies are relays that differ only in what their pipes do to
// the bytes. The listener closes, and the relay waits for every pipe,
// when the test ends.
type relay struct {
	l  net.Listener
	wg sync.WaitGroup
}

func startRelay(t *testing.T, to string, pipe func(client, server net.Conn) (up, down func())) *relay {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{l: l}
	go func() {
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", to)
			if err != nil {
				client.Close()
				continue
			}
			up, down := pipe(client, server)
			r.wg.Add(2)
			go func() { defer r.wg.Done(); up() }()
			go func() { defer r.wg.Done(); down() }()
		}
	}()
	t.Cleanup(func() { l.Close(); r.wg.Wait() })
	return r
}

// port is the port the relay listens on.
func (r *relay) port() int { return r.l.Addr().(*net.TCPAddr).Port }
