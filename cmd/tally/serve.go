package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/config"
	"github.com/tallyserver/tally/httpapi"
	"github.com/tallyserver/tally/pebble"
)

func serve(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	configPath := fs.String("config", "", "config file (YAML or JSON); without one, a development app is used")
	listen := fs.String("listen", "", "address to listen on (default "+config.DefaultListen+")")
	data := fs.String("data", "", "data directory (default "+config.DefaultData+")")
	admin := fs.String("admin", "", "address of the admin listener serving /debug/pprof (default off)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	cfg := &config.File{}
	if *configPath != "" {
		var err error
		if cfg, err = config.Load(*configPath); err != nil {
			return err
		}
	}
	// Flags override the file, which overrides the defaults.
	cfg.Listen = firstOf(*listen, cfg.Listen, config.DefaultListen)
	cfg.Data = firstOf(*data, cfg.Data, config.DefaultData)
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		return usageError{fmt.Sprintf("--listen %q: %v", cfg.Listen, err)}
	}

	var dev *tally.App
	if len(cfg.Apps) == 0 {
		app, _, err := config.LoadOrCreateDevApp(cfg.Data)
		if err != nil {
			return err
		}
		cfg.Apps, dev = []tally.App{app}, &app
	}

	log := slog.New(slog.NewTextHandler(stderr, nil))
	store, err := pebble.Open(filepath.Join(cfg.Data, "store"))
	if err != nil {
		return err
	}
	defer store.Close()

	if *admin != "" {
		adm, err := startAdmin(*admin, log)
		if err != nil {
			return err
		}
		defer adm.Close()
	}

	lim := httpapi.Limits{} // the documented defaults
	ln, err := httpapi.Listen("tcp", cfg.Listen, lim)
	if err != nil {
		return err
	}
	srv := httpapi.NewHTTPServer(httpapi.NewServer(store, cfg.Apps, log), log, lim)

	base := "http://" + callableAddr(ln.Addr())
	fmt.Fprintf(stdout, "tally %s serving %s (data in %s, %d app(s))\n", version, base, cfg.Data, len(cfg.Apps))
	if dev != nil {
		printDevApp(stdout, base, *dev, filepath.Join(cfg.Data, config.DevAppFile))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return store.Close()
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
