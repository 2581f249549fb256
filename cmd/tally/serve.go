package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/tallyserver/tally/config"
)

// serveFlags are the settings the command line may give; each overrides the
// config file's.
type serveFlags struct {
	listen, data, store, nats, tlsCert, tlsKey, logFormat, logLevel, memoryBudget, httpFront string
}

func (fl *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&fl.listen, "listen", "", "address to listen on (default "+config.DefaultListen+")")
	fs.StringVar(&fl.data, "data", "", "data directory (default "+config.DefaultData+")")
	fs.StringVar(&fl.store, "store", "", "URL of the PostgreSQL database to keep the data in, postgres://… (default: the embedded store in the data directory)")
	fs.StringVar(&fl.nats, "nats", "", "URL of the NATS server, or a comma-separated list, that carries live changes between the nodes sharing --store (default none: one node)")
	fs.StringVar(&fl.tlsCert, "tls-cert", "", "PEM certificate file; with --tls-key, serve HTTPS")
	fs.StringVar(&fl.tlsKey, "tls-key", "", "PEM private key file of --tls-cert")
	fs.StringVar(&fl.logFormat, "log-format", "", "log format: text (default) or json")
	fs.StringVar(&fl.logLevel, "log-level", "", "log level: debug, info (default), warn or error")
	fs.StringVar(&fl.httpFront, "http-front", "", "HTTP server the API is served on: nethttp (default) or fasthttp")
	fs.StringVar(&fl.memoryBudget, "memory-budget", "", "memory the embedded store may use for its caches and memtables, such as 512MiB or 4GiB (default 512MiB)")
}

// apply sets f's server settings from the flags, which override the file,
// which overrides the defaults, and checks the ones the file did not.
func (fl *serveFlags) apply(f *config.File) error {
	f.Listen = firstOf(fl.listen, f.Listen, config.DefaultListen)
	f.Data = firstOf(fl.data, f.Data, config.DefaultData)
	f.LogFormat = firstOf(fl.logFormat, f.LogFormat, "text")
	f.LogLevel = firstOf(fl.logLevel, f.LogLevel, "info")
	if fl.httpFront != "" && !slices.Contains(config.HTTPFronts, fl.httpFront) {
		return usageError{fmt.Sprintf("--http-front %q: want nethttp or fasthttp", fl.httpFront)}
	}
	f.HTTPFront = firstOf(fl.httpFront, f.HTTPFront, config.DefaultHTTPFront)
	if fl.store != "" {
		if err := config.CheckStore(fl.store); err != nil {
			return usageError{"--store: " + err.Error()}
		}
		f.Store = fl.store
	}
	if fl.nats != "" {
		if err := config.CheckNATS(fl.nats); err != nil {
			return usageError{"--nats: " + err.Error()}
		}
		f.NATS = fl.nats
	}
	// The bus carries changes between nodes that share a database; nodes
	// on embedded stores each have data of their own, and a change of one
	// told to another would be a change it does not have.
	if f.NATS != "" && f.Store == "" {
		return usageError{"nats_url (or --nats) needs store (or --store): the bus joins nodes that share a PostgreSQL database"}
	}
	if fl.tlsCert != "" || fl.tlsKey != "" {
		if fl.tlsCert == "" || fl.tlsKey == "" {
			return usageError{"--tls-cert and --tls-key go together"}
		}
		f.TLSCert, f.TLSKey = fl.tlsCert, fl.tlsKey
	}
	if _, _, err := net.SplitHostPort(f.Listen); err != nil {
		return usageError{fmt.Sprintf("--listen %q: %v", f.Listen, err)}
	}
	if fl.memoryBudget != "" {
		n, err := config.ParseMemoryBudget(fl.memoryBudget)
		if err != nil {
			return usageError{"--memory-budget: " + err.Error()}
		}
		f.MemoryBudget = n
	}
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

// serve runs a server, a Main made from the command line, until SIGTERM
// or SIGINT stops it gracefully; SIGHUP reloads its config.
func serve(args []string, stdout, stderr io.Writer) error {
	m := &Main{Stdout: stdout, Stderr: stderr, MemoryLimit: true}
	fs := newFlags("serve", stderr)
	fs.StringVar(&m.ConfigPath, "config", "", "config file (YAML or JSON); without one, a development app is used")
	fs.StringVar(&m.Admin, "admin", "", "address of the admin listener serving /debug/pprof, /backup and /metrics, without authentication (default off)")
	fs.BoolVar(&m.WatchConfig, "watch-config", false, "reload the config file when its contents change, as on SIGHUP")
	m.Flags.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if m.WatchConfig && m.ConfigPath == "" {
		return usageError{"--watch-config needs --config"}
	}

	// Signals are caught before Open prints the banner, which tells scripts
	// and tests that they may be sent. One that comes while Open runs is
	// answered once it has returned, so Open is not handed the stop.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	stopped, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := m.Open(context.Background()); err != nil {
		return err
	}
	for {
		select {
		case err := <-m.Err():
			m.Close()
			return err
		case <-hup:
			m.Reload()
		case <-stopped.Done():
			return m.Close()
		}
	}
}
