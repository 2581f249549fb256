package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/callback"
	"github.com/tallyserver/tally/config"
)

// setupCallbacks gives the API the apps' before-callback, and, when the
// store keeps an outbox, makes the deliverer of its after-events and
// registers its metrics. The deliverer starts with startDelivery.
func (m *Main) setupCallbacks(cfg *config.File, registry *prometheus.Registry) {
	client := callback.NewClient(version)
	log := m.log.With("component", "callback")
	m.api.BeforeCreateGroup = func(ctx context.Context, app *tally.App, q *callback.BeforeCreateGroup) error {
		refused, failed := client.BeforeCreateGroup(ctx, app, q)
		if failed != nil {
			// Tencent's default: a back end that cannot answer does
			// not stop the call.
			log.Warn("Group.CallbackBeforeCreateGroup failed; the group is created, as Tencent does", "sdkappid", app.SDKAppID, "err", failed)
		}
		return refused
	}
	outbox, ok := m.store.(tally.Outbox)
	if !ok {
		return
	}
	m.deliverer = callback.NewDeliverer(outbox, client, cfg.Apps, callback.Options{
		Holder: holderName(cfg.Listen),
		MaxAge: maxAge(cfg),
		Log:    log,
	})
	registry.MustRegister(m.deliverer)
	m.api.EventsRecorded = m.deliverer.Notify
}

// holderName names this node in the outbox's claim: its host, address and
// process, unique among nodes that share a store.
func holderName(listen string) string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return fmt.Sprintf("%s/%s/%d", host, listen, os.Getpid())
}

func maxAge(cfg *config.File) time.Duration {
	if cfg.CallbackMaxAge > 0 {
		return cfg.CallbackMaxAge
	}
	return config.DefaultCallbackMaxAge
}

// startDelivery starts the deliverer, if there is one.
func (m *Main) startDelivery() {
	if m.deliverer == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.stopDelivery, m.delivered = cancel, make(chan struct{})
	go func() {
		defer close(m.delivered)
		m.deliverer.Run(ctx)
	}()
}

// stopDeliveryAndWait stops the deliverer, if it runs, and waits for its
// attempts in flight to end (2 s at most each).
func (m *Main) stopDeliveryAndWait() {
	if m.stopDelivery == nil {
		return
	}
	m.stopDelivery()
	<-m.delivered
	m.stopDelivery = nil
}

// reloadCallbacks applies a reloaded config's callback settings.
func (m *Main) reloadCallbacks(next *config.File) {
	if m.deliverer == nil {
		return
	}
	m.deliverer.SetApps(next.Apps)
	m.deliverer.SetMaxAge(maxAge(next))
}
