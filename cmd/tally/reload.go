package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/config"
	"github.com/tallyserver/tally/httpapi"
)

// reloader applies a changed config file to the running server: the apps
// (their keys, admins, editions, limits), the TLS certificate's files and
// the log level. The listen address, the data directory, the log format and
// turning TLS on or off need a restart; a reload that changes them says so
// and applies the rest.
//
// A new config that cannot be used is refused as a whole and the running
// one stays: half a reload, say new apps with a certificate that failed to
// load, would be a state nobody wrote down.
type reloader struct {
	path  string
	flags serveFlags
	// running is the config in effect, with flags and defaults applied.
	running *config.File
	api     *httpapi.Server
	cert    *certificate // nil when not serving TLS
	level   *slog.LevelVar
	log     *slog.Logger
}

// reload reads the config file again and applies it. The outcome, either
// way, is told in the log, which is where whoever sent the signal looks.
func (r *reloader) reload() {
	if r.path == "" {
		r.log.Warn("config reload refused", "err", "the server was started without --config, so there is no file to reload")
		return
	}
	next, cert, err := r.check()
	if err != nil {
		r.log.Error("config reload refused; the running config stays", "config", r.path, "err", err)
		return
	}
	// The new level governs the reload's own lines.
	r.level.UnmarshalText([]byte(next.LogLevel)) // checked by config.Parse
	for _, name := range restartOnly(r.running, next) {
		r.log.Warn("config reload: a setting changed that takes effect only at the next start",
			"config", r.path, "setting", name)
	}
	if cert != nil {
		r.cert.replace(cert)
	}
	added, removed, changed := diffApps(r.running.Apps, next.Apps)
	r.api.SetApps(next.Apps)
	next.Listen, next.Data, next.LogFormat = r.running.Listen, r.running.Data, r.running.LogFormat
	if r.cert == nil {
		next.TLSCert, next.TLSKey = "", ""
	}
	r.running = next
	r.log.Info("config reloaded", "config", r.path, "apps", len(next.Apps),
		"added", added, "removed", removed, "changed", changed)
}

// check reads the config file and returns it with flags and defaults
// applied, and the certificate it names when the server serves TLS, or why
// it cannot be used.
func (r *reloader) check() (*config.File, *certificate, error) {
	next, err := config.Load(r.path)
	if err != nil {
		return nil, nil, err
	}
	if len(next.Apps) == 0 {
		return nil, nil, fmt.Errorf("config %s: no apps; a running server needs at least one", r.path)
	}
	if err := r.flags.apply(next); err != nil {
		return nil, nil, err
	}
	var cert *certificate
	if r.cert != nil && next.TLSCert != "" {
		if cert, err = loadCertificate(next.TLSCert, next.TLSKey); err != nil {
			return nil, nil, err
		}
	}
	return next, cert, nil
}

// restartOnly names the settings that differ between the running config
// and next but cannot change while serving.
func restartOnly(running, next *config.File) []string {
	var names []string
	if running.Listen != next.Listen {
		names = append(names, "listen")
	}
	if running.Data != next.Data {
		names = append(names, "data")
	}
	if running.LogFormat != next.LogFormat {
		names = append(names, "log_format")
	}
	if (running.TLSCert == "") != (next.TLSCert == "") {
		names = append(names, "tls_cert and tls_key (HTTPS on or off)")
	}
	return names
}

// diffApps returns the sdkappids of the apps that a reload from old to
// next adds, removes and changes, for the log: the settings themselves
// hold secret keys.
func diffApps(old, next []tally.App) (added, removed, changed []uint32) {
	before := make(map[uint32]tally.App, len(old))
	for _, a := range old {
		before[a.SDKAppID] = a
	}
	for _, a := range next {
		b, ok := before[a.SDKAppID]
		switch {
		case !ok:
			added = append(added, a.SDKAppID)
		case !reflect.DeepEqual(a, b):
			changed = append(changed, a.SDKAppID)
		}
		delete(before, a.SDKAppID)
	}
	for id := range before {
		removed = append(removed, id)
	}
	slices.Sort(removed)
	return added, removed, changed
}

// watch reloads whenever the config file's contents change, checking every
// interval until ctx ends. Polling is used rather than file system events
// because editors and config managers replace files in many ways (write in
// place, rename over, symlink swap) and reading a small file once a second
// sees them all. A file caught half-written is refused and tried again
// when its contents change once more.
func (r *reloader) watch(ctx context.Context, interval time.Duration, reload chan<- struct{}) {
	last, _ := os.ReadFile(r.path)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur, err := os.ReadFile(r.path)
		if err != nil || bytes.Equal(cur, last) {
			continue
		}
		last = cur
		select {
		case reload <- struct{}{}:
		case <-ctx.Done():
			return
		}
	}
}
