package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"reflect"
	"slices"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/config"
)

// Reload reads the config file again and applies it to the running
// server: the apps (their keys, admins, editions, limits, callbacks),
// callback_max_age, stream_budget, the TLS certificate's files and the
// log level. The
// listen address, the data directory, the store, the NATS bus, the log
// format, the memory budget, the HTTP front and turning TLS on or off need a restart; a reload that changes them says so and applies
// the rest.
//
// A changed store or nats_url is kept to the next start like the data
// directory, not refused: the file says what the next start uses, and an
// operator moving nodes to PostgreSQL (and NATS) edits it and then
// restarts each node, maybe with a key rotation in the same edit, which a
// refusal would hold back until the restart. The warning names the
// setting, never the URL, which may hold a password.
//
// A new config that cannot be used is refused as a whole and the running
// one stays: half a reload, say new apps with a certificate that failed to
// load, would be a state nobody wrote down. The outcome, either way, is
// told in the log, which is where whoever asked for the reload looks.
func (m *Main) Reload() {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	if m.ConfigPath == "" {
		m.log.Warn("config reload refused", "err", "the server was started without --config, so there is no file to reload")
		return
	}
	next, cert, err := m.check()
	if err != nil {
		m.log.Error("config reload refused; the running config stays", "config", m.ConfigPath, "err", err)
		return
	}
	// The new level governs the reload's own lines.
	m.level.UnmarshalText([]byte(next.LogLevel)) // checked by config.Parse
	for _, name := range restartOnly(m.running, next) {
		m.log.Warn("config reload: a setting changed that takes effect only at the next start",
			"config", m.ConfigPath, "setting", name)
	}
	if cert != nil {
		m.cert.replace(cert)
	}
	added, removed, changed := diffApps(m.running.Apps, next.Apps)
	m.api.SetApps(next.Apps)
	m.api.SetStreamBudget(next.StreamBudget)
	m.reloadCallbacks(next)
	next.Listen, next.Data, next.Store, next.NATS, next.LogFormat = m.running.Listen, m.running.Data, m.running.Store, m.running.NATS, m.running.LogFormat
	next.MemoryBudget = m.running.MemoryBudget
	if m.cert == nil {
		next.TLSCert, next.TLSKey = "", ""
	}
	m.running = next
	m.log.Info("config reloaded", "config", m.ConfigPath, "apps", len(next.Apps),
		"added", added, "removed", removed, "changed", changed)
}

// check reads the config file and returns it with flags and defaults
// applied, and the certificate it names when the server serves TLS, or why
// it cannot be used.
func (m *Main) check() (*config.File, *certificate, error) {
	next, err := m.load()
	if err != nil {
		return nil, nil, err
	}
	if len(next.Apps) == 0 {
		return nil, nil, fmt.Errorf("config %s: no apps; a running server needs at least one", m.ConfigPath)
	}
	var cert *certificate
	if m.cert != nil && next.TLSCert != "" {
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
	if running.Store != next.Store {
		names = append(names, "store")
	}
	if running.NATS != next.NATS {
		names = append(names, "nats_url")
	}
	if running.LogFormat != next.LogFormat {
		names = append(names, "log_format")
	}
	if running.HTTPFront != next.HTTPFront {
		names = append(names, "http_front")
	}
	if running.MemoryBudget != next.MemoryBudget {
		names = append(names, "memory_budget")
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

// watch reloads whenever the config file's contents differ from last,
// checking every interval until ctx ends. Polling is used rather than file
// system events because editors and config managers replace files in many
// ways (write in place, rename over, symlink swap) and reading a small file
// once a second sees them all. A file caught half-written is refused and
// tried again when its contents change once more.
func (m *Main) watch(ctx context.Context, last []byte, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur, err := os.ReadFile(m.ConfigPath)
		if err != nil || bytes.Equal(cur, last) {
			continue
		}
		last = cur
		m.Reload()
	}
}
