// Package datadir names what a Tally data directory holds. The server
// opens and creates these, and backups copy and restore them, so the
// names are written once, here, where none of those packages has to
// import another to learn them.
package datadir

const (
	// StoreDir is the directory of the store.
	StoreDir = "store"
	// DevAppFile keeps the development app of a server run without a
	// config file, so that clients set up against it keep working from one
	// run to the next.
	DevAppFile = "dev-app.yaml"
)
