// Package nats is the bus that carries the live counter stream's changes
// between the nodes that share one store: each node publishes the changes
// made through it, once durable, and hands those of the other nodes to its
// own hub. NATS delivers at most once, so the bus is only the fast path:
// a change it loses shows as a gap in its group's Seq, which makes the hub
// read the group from the store, and a connection it loses makes every node
// read every watched group again. A subscriber so always ends at the
// latest durable state, whatever the bus dropped.
package nats

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tallyserver/tally"
)

// Subjects of the bus. A change goes on the subject of its app, so that a
// tool watching one app's traffic (nats sub 'tally.changes.1400000000')
// sees that app's alone; a node subscribes to them all.
const (
	ChangeSubject = "tally.changes."
	allChanges    = ChangeSubject + "*"
	// ResyncSubject asks every node to read its watched groups again. A
	// node that reconnects sends it, because the changes it published
	// while cut off may have been dropped (its reconnect buffer is
	// bounded), and the other nodes, whose connections never broke, would
	// otherwise not know to look.
	ResyncSubject = "tally.resync"
)

// connectWait bounds a start's wait for the NATS server, per server URL.
const connectWait = 5 * time.Second

// Options are the bus's settings; a zero field takes its default.
type Options struct {
	// Name is the connection's name, as the NATS server's monitoring
	// shows it.
	Name string
	// ReconnectWait is how long the bus waits between attempts to
	// reconnect. Default 1s.
	ReconnectWait time.Duration
	// Log, if set, is told when the connection is lost and back, and of
	// what the bus cannot report otherwise: a change it could not
	// publish, or one it could not decode.
	Log *slog.Logger
}

// Bus is a node's connection to NATS. Its methods are safe for concurrent
// use.
type Bus struct {
	nc  *nats.Conn
	log *slog.Logger

	// mu guards deliver and resync, which Start sets after the
	// connection's handlers may already run.
	mu      sync.Mutex
	deliver func(tally.Change)
	resync  func()
}

// Connect connects to the NATS server at url, or to the first that answers
// of a comma-separated list, and fails if none does: a bus named in the
// config but unreachable at the start is most often a mistyped URL, which
// is better told at once than found when streams stay silent. Once
// connected, the bus reconnects for ever, and a lost connection costs the
// streams a resync, never the node its REST API. The bus hands nothing on
// until Start.
func Connect(url string, opt Options) (*Bus, error) {
	if opt.ReconnectWait <= 0 {
		opt.ReconnectWait = time.Second
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	b := &Bus{log: opt.Log}
	nc, err := nats.Connect(url,
		nats.Name(opt.Name),
		nats.Timeout(connectWait),
		// The server does not send a node its own changes back: its hub
		// has them from its store already.
		nats.NoEcho(),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(opt.ReconnectWait),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			b.log.Warn("nats bus lost; the other nodes' changes reach this node's streams when it is back", "err", err)
			b.lost()
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			b.log.Info("nats bus back; reading the watched groups again", "server", nc.ConnectedUrlRedacted())
			b.reconnected()
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			// A slow consumer is a subscription whose pending changes
			// overflowed and were dropped: read everything again.
			if errors.Is(err, nats.ErrSlowConsumer) {
				b.lost()
			}
			b.fail(err)
		}),
	)
	if err != nil {
		return nil, err
	}
	b.nc = nc
	return b, nil
}

// Start subscribes to every app's changes, and to the resync requests, and
// hands each change another node published to deliver (a hub's Publish),
// in the order that node published them. It calls resync (a hub's
// Resync) whenever changes may have been missed: when the connection is
// lost and when it is back, when a subscription overflowed, and when
// another node asks. It returns once the NATS server has the
// subscriptions, so that every change published after it returns reaches
// this node.
func (b *Bus) Start(deliver func(tally.Change), resync func()) error {
	b.mu.Lock()
	b.deliver, b.resync = deliver, resync
	b.mu.Unlock()
	if _, err := b.nc.Subscribe(allChanges, b.receive); err != nil {
		return err
	}
	if _, err := b.nc.Subscribe(ResyncSubject, func(*nats.Msg) { b.lost() }); err != nil {
		return err
	}
	return b.nc.Flush()
}

// Publish sends a change made through this node to the others. It is the
// function to give a store's feed, with the local hub's Publish: it never
// waits for the network, only for the connection's buffer, and while the
// connection is down it buffers up to the client's reconnect buffer (8
// MiB) and drops what does not fit. A dropped change is not lost to the
// subscribers: it shows as a gap at the group's next change, and the
// reconnect's resync covers a group that has none.
func (b *Bus) Publish(c tally.Change) {
	data, err := json.Marshal(encode(c))
	if err == nil {
		err = b.nc.Publish(ChangeSubject+strconv.FormatUint(uint64(c.App), 10), data)
	}
	if err != nil {
		b.fail(err)
	}
}

// Close unsubscribes and closes the connection. It hands nothing on once it
// has returned.
func (b *Bus) Close() {
	b.mu.Lock()
	b.deliver, b.resync = nil, nil
	b.mu.Unlock()
	b.nc.Close()
}

// receive decodes a change and hands it on.
func (b *Bus) receive(m *nats.Msg) {
	var w wire
	err := json.Unmarshal(m.Data, &w)
	app, perr := strconv.ParseUint(strings.TrimPrefix(m.Subject, ChangeSubject), 10, 32)
	if err == nil && (perr != nil || uint32(app) != w.App) {
		err = errors.New("nats: a change on subject " + m.Subject + " of another app")
	}
	if err != nil {
		b.fail(err)
		return
	}
	b.mu.Lock()
	deliver := b.deliver
	b.mu.Unlock()
	if deliver != nil {
		deliver(w.change())
	}
}

// lost calls resync, if Start has set it.
func (b *Bus) lost() {
	b.mu.Lock()
	resync := b.resync
	b.mu.Unlock()
	if resync != nil {
		resync()
	}
}

// reconnected resyncs this node, which may have missed the others'
// changes, and asks the others to, which may have missed this node's.
//
// The client has sent the subscriptions again, but the server may not have
// taken them yet: a change another node commits and publishes before it
// has would be lost, and a read made before the commit would not hold it
// either. A flush is a round trip behind the subscriptions, so a read after
// it holds every change whose publication the server dropped for this
// node.
func (b *Bus) reconnected() {
	if err := b.nc.FlushTimeout(connectWait); err != nil {
		b.fail(err) // resync anyway: this read is better than none
	}
	b.lost()
	if err := b.nc.Publish(ResyncSubject, nil); err != nil {
		b.fail(err)
	}
}

func (b *Bus) fail(err error) {
	b.log.Warn("nats bus", "err", err)
}
