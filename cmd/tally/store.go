package main

import (
	"context"
	"net/http"
	"path/filepath"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/config"
	"github.com/tallyserver/tally/internal/datadir"
	"github.com/tallyserver/tally/pebble"
	"github.com/tallyserver/tally/postgres"
)

// storeOpenWait bounds how long a start waits for PostgreSQL to answer. A
// database that does not answer in that time is refused like one that
// refuses the connection, so that a node never sits half-started; the
// URL's connect_timeout bounds each attempt more tightly.
const storeOpenWait = 15 * time.Second

// openStore opens the store cfg names: the PostgreSQL database of
// cfg.Store, or else the embedded store in cfg.Data. It returns the store,
// the embedded store again (nil on PostgreSQL) for what only it has
// (backups, and the metrics of its disk), and what the banner says the
// store is. Nothing it returns or says holds the database's password.
func openStore(ctx context.Context, cfg *config.File) (_ tally.Store, embedded *pebble.Store, where string, err error) {
	if cfg.Store == "" {
		s, err := pebble.OpenWith(filepath.Join(cfg.Data, datadir.StoreDir), pebble.Config{MemoryBudget: cfg.MemoryBudget})
		if err != nil {
			return nil, nil, "", err
		}
		return s, s, "data in " + cfg.Data, nil
	}
	ctx, cancel := context.WithTimeout(ctx, storeOpenWait)
	defer cancel()
	s, err := postgres.Open(ctx, cfg.Store)
	if err != nil {
		return nil, nil, "", err
	}
	return s, nil, "PostgreSQL " + s.String(), nil
}

// noBackups answers /backup on a server whose store is PostgreSQL. A tally
// backup is a checkpoint of the embedded store; the database's data is
// the database's to back up, with the tools that know its replication and
// its WAL, and one node could not take a consistent copy of what every
// node writes anyway.
func noBackups(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "this server's store is PostgreSQL: back it up with the database's own tools "+
		"(pg_basebackup, pg_dump, or your provider's snapshots); tally backup copies the embedded store only",
		http.StatusNotImplemented)
}
