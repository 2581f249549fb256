package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/backup"
	"github.com/tallyserver/tally/callback"
	"github.com/tallyserver/tally/config"
	"github.com/tallyserver/tally/httpapi"
	"github.com/tallyserver/tally/internal/datadir"
	"github.com/tallyserver/tally/nats"
	"github.com/tallyserver/tally/pebble"
)

// shutdownWait bounds how long a graceful stop waits for requests in
// flight; a request waits at most for one fsync, so this is generous.
const shutdownWait = 10 * time.Second

// Main is the server that tally serve runs: its config, its store, the
// API's listener and the admin one. It is apart from the command line and
// the signals, which serve wires to it, so that tests can open a whole
// server in their own process, reload it and close it.
//
// The fields before Open are set by the caller; Open sets the rest.
type Main struct {
	// ConfigPath is the config file; without one, the server serves the
	// data dir's development app, and there is nothing to reload.
	ConfigPath string
	// Flags are the command line's settings, which override the file's at
	// the start and at every reload.
	Flags serveFlags
	// Admin is the address of the admin listener, "" for none.
	Admin string
	// WatchConfig, with a ConfigPath, reloads the config whenever the
	// file's contents change.
	WatchConfig bool
	// MemoryLimit sets Go's soft memory limit from the embedded store's
	// memory budget (memlimit.go): the process's, so tally serve sets it
	// and tests that run servers in process do not.
	MemoryLimit bool
	// Stdout gets the banner and the development app, Stderr the log.
	Stdout, Stderr io.Writer

	// watchInterval is how often WatchConfig reads the file, a second
	// unless a test shortens it.
	watchInterval time.Duration

	log   *slog.Logger
	level *slog.LevelVar
	store tally.Store
	// embedded is the store when it is the embedded one, for what only
	// it has: backups and the metrics of its disk. It is nil on
	// PostgreSQL.
	embedded *pebble.Store
	// bus carries the live changes between the nodes on one PostgreSQL
	// database; nil without nats_url.
	bus     *nats.Bus
	api     *httpapi.Server
	cert    *certificate // nil when not serving TLS
	ln      net.Listener
	srv     front
	adminLn net.Listener // nil without an admin listener
	admin   *http.Server
	url     string
	served  chan error // Serve's outcome

	// deliverer sends the store's after-events to the apps' callback
	// URLs; nil when the store keeps none. stopDelivery ends it, and
	// delivered is closed once it has.
	deliverer    *callback.Deliverer
	stopDelivery context.CancelFunc
	delivered    chan struct{}

	// stopWatch ends the WatchConfig loop, which closes watched.
	stopWatch context.CancelFunc
	watched   chan struct{}

	// reloadMu lets one reload run at a time, whether a signal or
	// WatchConfig asked for it.
	reloadMu sync.Mutex
	// running is the config in effect, with flags and defaults applied.
	running *config.File
}

// front is the HTTP server the API is served on: net/http's or fasthttp's
// (config's http_front).
type front interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}

// Open reads the config, opens the store, listens and serves, and prints
// the banner (and the development app, if it serves one) to Stdout. A
// config that cannot be used, or a setting of the flags that cannot, is
// refused before the data dir is touched or an address listened on, and a
// store that cannot be opened, such as a PostgreSQL database that cannot
// be reached, before an address is listened on. ctx bounds the start
// only.
func (m *Main) Open(ctx context.Context) (err error) {
	cfg, err := m.load()
	if err != nil {
		return err
	}
	if m.log, m.level, err = newLogger(m.Stderr, cfg.LogFormat, cfg.LogLevel); err != nil {
		return usageError{err.Error()}
	}
	if cfg.TLSCert != "" {
		if m.cert, err = loadCertificate(cfg.TLSCert, cfg.TLSKey); err != nil {
			return err
		}
	}
	var dev *tally.App
	if len(cfg.Apps) == 0 {
		app, _, err := config.LoadOrCreateDevApp(cfg.Data)
		if err != nil {
			return err
		}
		cfg.Apps, dev = []tally.App{app}, &app
	}

	defer func() {
		if err != nil {
			m.release()
		}
	}()
	var where string
	if m.store, m.embedded, where, err = openStore(ctx, cfg); err != nil {
		return err
	}
	if m.MemoryLimit && m.embedded != nil {
		setMemoryLimit(cfg.MemoryBudget)
	}
	if cfg.NATS != "" {
		// Like the store, a bus that cannot be reached at the start is
		// refused before an address is listened on: it is most often a
		// mistyped URL, and a node that served without it would give its
		// streams none of the other nodes' changes, a fault nobody would
		// see. Once running, a lost bus is waited for, never fatal.
		if m.bus, err = nats.Connect(cfg.NATS, nats.Options{Name: "tally " + cfg.Listen, Log: m.log}); err != nil {
			return fmt.Errorf("nats_url: cannot reach the NATS server: %w", err)
		}
		where += ", live changes over NATS"
	}
	var storeMetrics []prometheus.Collector
	if m.embedded != nil {
		storeMetrics = append(storeMetrics, m.embedded)
	}
	registry, metrics := newMetrics(storeMetrics...)
	if m.Admin != "" {
		backups := http.Handler(http.HandlerFunc(noBackups))
		if m.embedded != nil {
			backups = backup.NewSource(m.embedded, cfg.Data, m.log)
		}
		if err := m.openAdmin(ctx, backups, metrics); err != nil {
			return err
		}
	}

	lim := httpapi.Limits{} // the documented defaults
	if m.ln, err = listen(ctx, cfg.Listen); err != nil {
		return err
	}
	scheme := "http"
	if m.cert != nil {
		// TLS sits under the envelope wrapper, which reads and writes the
		// requests and answers in the clear.
		m.ln, scheme = tls.NewListener(m.ln, m.cert.config()), "https"
	}
	m.api = httpapi.NewServer(m.store, cfg.Apps, m.log)
	m.api.SetStreamBudget(cfg.StreamBudget)
	if err := m.joinBus(); err != nil {
		return err
	}
	registry.MustRegister(m.api)
	m.api.Metrics = metrics
	m.setupCallbacks(cfg, registry)
	if cfg.HTTPFront == "fasthttp" {
		// fasthttp answers its own parse errors with envelopes
		// (httpapi.NewFastHTTPServer), so its listener is not wrapped.
		m.srv = httpapi.NewFastHTTPServer(m.api, m.log, lim)
	} else {
		m.ln = httpapi.WrapListener(m.ln, lim)
		m.srv = httpapi.NewHTTPServer(m.api, m.log, lim)
	}
	m.running = cfg

	m.url = scheme + "://" + callableAddr(m.ln.Addr())
	fmt.Fprintf(m.Stdout, "tally %s serving %s (%s, %d app(s))\n", version, m.url, where, len(cfg.Apps))
	if dev != nil {
		printDevApp(m.Stdout, m.url, *dev, filepath.Join(cfg.Data, datadir.DevAppFile))
	}
	if m.WatchConfig && m.ConfigPath != "" {
		m.startWatch()
	}
	m.served = make(chan error, 1)
	go func() { m.served <- m.srv.Serve(m.ln) }()
	m.startDelivery()
	return nil
}

// load reads the config file, if there is one, and applies the flags and
// the defaults over it.
func (m *Main) load() (*config.File, error) {
	cfg := &config.File{}
	if m.ConfigPath != "" {
		var err error
		if cfg, err = config.Load(m.ConfigPath); err != nil {
			return nil, err
		}
	}
	if err := m.Flags.apply(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// URL returns the API's base URL, as the banner gives it.
func (m *Main) URL() string { return m.url }

// AdminAddr returns the address the admin listener listens on, "" when
// there is none.
func (m *Main) AdminAddr() string {
	if m.adminLn == nil {
		return ""
	}
	return m.adminLn.Addr().String()
}

// Err receives the error that ended serving, if serving ends before Close.
func (m *Main) Err() <-chan error { return m.served }

// Close stops the server gracefully: no new connections, requests in
// flight answered (each has its write durable before its answer, so
// nothing more needs syncing), streams ended (each told so, and given a
// second to take it), then the store closed. It waits shutdownWait at
// most for the requests and streams.
func (m *Main) Close() error {
	m.log.Info("shutting down", "wait", shutdownWait)
	if m.stopWatch != nil {
		m.stopWatch()
		<-m.watched
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
	defer cancel()
	if err := m.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		m.release()
		return err
	}
	// Shutdown ended the streams, but does not wait for a WebSocket,
	// whose connection is no longer the server's; nor may the hub read
	// the store once it is closed.
	if err := m.api.CloseStreams(ctx); err != nil {
		m.release()
		return err
	}
	// Delivery stops once no write can record another event; what it
	// has not delivered stays in the outbox for the next start.
	m.stopDeliveryAndWait()
	if m.admin != nil {
		m.admin.Close()
	}
	if m.bus != nil {
		m.bus.Close()
	}
	if err := m.store.Close(); err != nil {
		return err
	}
	m.log.Info("stopped")
	return nil
}

// release closes, at once, what a failed Open or Close leaves open: the
// admin listener, the API's listener if it is not served yet, and the
// store.
func (m *Main) release() {
	m.stopDeliveryAndWait()
	if m.admin != nil {
		m.admin.Close()
	}
	if m.ln != nil && m.served == nil {
		m.ln.Close()
	}
	if m.bus != nil {
		m.bus.Close()
	}
	if m.store != nil {
		m.store.Close()
	}
}

// joinBus, with a bus, hands the store's changes both to the local streams,
// at once, and to the other nodes, and theirs to the local streams. The
// hub drops a change it has had already and re-reads a group whose Seq
// skips, so whatever the bus loses or repeats, the streams end at the
// store's state.
func (m *Main) joinBus() error {
	if m.bus == nil {
		return nil
	}
	hub := m.api.Hub()
	feed, ok := m.store.(tally.ChangeFeed)
	if hub == nil || !ok {
		return errors.New("nats_url: the store tells of no changes to carry")
	}
	feed.OnChange(func(c tally.Change) {
		hub.Publish(c)
		m.bus.Publish(c)
	})
	if err := m.bus.Start(hub.Publish, hub.Resync); err != nil {
		return fmt.Errorf("nats_url: %w", err)
	}
	return nil
}

// listen listens on the TCP address addr.
func listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	return lc.Listen(ctx, "tcp", addr)
}

// callableAddr turns the listening address into one a local client can
// call: a wildcard host becomes loopback.
func callableAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if tcp.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
	}
	return tcp.String()
}

// startWatch starts the WatchConfig loop from the contents the running
// config was read from, so that a change made at any moment after that
// read, even while Open still runs, is seen.
func (m *Main) startWatch() {
	interval := m.watchInterval
	if interval == 0 {
		interval = time.Second
	}
	last := m.running.Source
	ctx, cancel := context.WithCancel(context.Background())
	m.stopWatch, m.watched = cancel, make(chan struct{})
	go func() {
		defer close(m.watched)
		m.watch(ctx, last, interval)
	}()
}
