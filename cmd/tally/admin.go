package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/pprof"
	"time"
)

// openAdmin serves the profiler, backups and metrics on their own
// listener. It is off unless asked for, and kept apart from the API's
// address, because profiles expose the server's internals, and backups all
// its data and the dev app's secret key, to whoever can reach them. The
// metrics are on the API's address too; here they can be scraped from a
// network that cannot reach the API. backups serves /backup: a Source of
// the embedded store, or noBackups on PostgreSQL.
func (m *Main) openAdmin(ctx context.Context, backups, metrics http.Handler) error {
	ln, err := listen(ctx, m.Admin)
	if err != nil {
		return fmt.Errorf("admin listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/backup", backups)
	mux.Handle("/metrics", metrics)
	m.adminLn, m.admin = ln, &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go m.admin.Serve(ln)
	m.log.Info("admin listener serving pprof, /backup and /metrics", "addr", ln.Addr().String())
	return nil
}
