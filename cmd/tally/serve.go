package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/backup"
	"github.com/tallyserver/tally/config"
	"github.com/tallyserver/tally/httpapi"
	"github.com/tallyserver/tally/internal/datadir"
	"github.com/tallyserver/tally/pebble"
)

// shutdownWait bounds how long a graceful stop waits for requests in
// flight; a request waits at most for one fsync, so this is generous.
const shutdownWait = 10 * time.Second

// serveFlags are the settings the command line may give; each overrides the
// config file's.
type serveFlags struct {
	listen, data, tlsCert, tlsKey, logFormat, logLevel string
}

func (fl *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&fl.listen, "listen", "", "address to listen on (default "+config.DefaultListen+")")
	fs.StringVar(&fl.data, "data", "", "data directory (default "+config.DefaultData+")")
	fs.StringVar(&fl.tlsCert, "tls-cert", "", "PEM certificate file; with --tls-key, serve HTTPS")
	fs.StringVar(&fl.tlsKey, "tls-key", "", "PEM private key file of --tls-cert")
	fs.StringVar(&fl.logFormat, "log-format", "", "log format: text (default) or json")
	fs.StringVar(&fl.logLevel, "log-level", "", "log level: debug, info (default), warn or error")
}

// apply sets f's server settings from the flags, which override the file,
// which overrides the defaults, and checks the ones the file did not.
func (fl *serveFlags) apply(f *config.File) error {
	f.Listen = firstOf(fl.listen, f.Listen, config.DefaultListen)
	f.Data = firstOf(fl.data, f.Data, config.DefaultData)
	f.LogFormat = firstOf(fl.logFormat, f.LogFormat, "text")
	f.LogLevel = firstOf(fl.logLevel, f.LogLevel, "info")
	if fl.tlsCert != "" || fl.tlsKey != "" {
		if fl.tlsCert == "" || fl.tlsKey == "" {
			return usageError{"--tls-cert and --tls-key go together"}
		}
		f.TLSCert, f.TLSKey = fl.tlsCert, fl.tlsKey
	}
	if _, _, err := net.SplitHostPort(f.Listen); err != nil {
		return usageError{fmt.Sprintf("--listen %q: %v", f.Listen, err)}
	}
	return nil
}

func serve(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	configPath := fs.String("config", "", "config file (YAML or JSON); without one, a development app is used")
	admin := fs.String("admin", "", "address of the admin listener serving /debug/pprof, /backup and /metrics, without authentication (default off)")
	watch := fs.Bool("watch-config", false, "reload the config file when its contents change, as on SIGHUP")
	var fl serveFlags
	fl.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	if *watch && *configPath == "" {
		return usageError{"--watch-config needs --config"}
	}
	cfg := &config.File{}
	if *configPath != "" {
		var err error
		if cfg, err = config.Load(*configPath); err != nil {
			return err
		}
	}
	if err := fl.apply(cfg); err != nil {
		return err
	}
	log, level, err := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return usageError{err.Error()}
	}
	var cert *certificate
	if cfg.TLSCert != "" {
		if cert, err = loadCertificate(cfg.TLSCert, cfg.TLSKey); err != nil {
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

	store, err := pebble.Open(filepath.Join(cfg.Data, datadir.StoreDir))
	if err != nil {
		return err
	}
	defer store.Close()
	registry, metrics := newMetrics(store)

	if *admin != "" {
		adm, err := startAdmin(*admin, backup.NewSource(store, cfg.Data, log), metrics, log)
		if err != nil {
			return err
		}
		defer adm.Close()
	}

	lim := httpapi.Limits{} // the documented defaults
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	scheme := "http"
	if cert != nil {
		// TLS sits under the envelope wrapper, which reads and writes the
		// requests and answers in the clear.
		ln, scheme = tls.NewListener(ln, cert.config()), "https"
	}
	ln = httpapi.WrapListener(ln, lim)
	api := httpapi.NewServer(store, cfg.Apps, log)
	registry.MustRegister(api)
	api.Metrics = metrics
	srv := httpapi.NewHTTPServer(api, log, lim)

	// Signals are caught before the banner, which tells scripts and tests
	// that they may be sent.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	base := scheme + "://" + callableAddr(ln.Addr())
	fmt.Fprintf(stdout, "tally %s serving %s (data in %s, %d app(s))\n", version, base, cfg.Data, len(cfg.Apps))
	if dev != nil {
		printDevApp(stdout, base, *dev, filepath.Join(cfg.Data, datadir.DevAppFile))
	}

	r := &reloader{path: *configPath, flags: fl, running: cfg, api: api, cert: cert, level: level, log: log}
	changed := make(chan struct{})
	if *watch {
		go r.watch(ctx, time.Second, changed)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
wait:
	for {
		select {
		case err := <-errc:
			return err
		case <-hup:
			r.reload()
		case <-changed:
			r.reload()
		case <-ctx.Done():
			break wait
		}
	}

	// A graceful stop: no new connections, requests in flight answered
	// (each has its write durable before its answer, so nothing more needs
	// syncing), then the store closed.
	log.Info("shutting down", "wait", shutdownWait)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownWait)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	if err := store.Close(); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
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
