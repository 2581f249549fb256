package backup

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/tallyserver/tally/internal/datadir"
	"github.com/tallyserver/tally/internal/durable"
)

// Restore unpacks the backup read from r into the data directory data,
// which may exist but must hold no store, nor a dev app when the backup
// has one; no server may use it meanwhile. It unpacks into a temporary
// directory inside data, syncing every file and directory, and only once
// the whole backup has been read and checked moves the dev app's file and
// then the store into place. A restore that fails or is cut short
// therefore leaves no store behind that a server could start on, only,
// perhaps, a directory named .restore-* to remove.
//
// Only directories and regular files with clean relative names under
// store/ are written (read and checkName see to that), each created anew
// in the fresh temporary directory, so nothing can land outside it.
func Restore(r io.Reader, data string) (_ Summary, err error) {
	store := filepath.Join(data, datadir.StoreDir)
	if err := mustNotExist(store); err != nil {
		return Summary{}, err
	}
	if err := os.MkdirAll(data, 0o755); err != nil {
		return Summary{}, err
	}
	tmp, err := os.MkdirTemp(data, ".restore-*")
	if err != nil {
		return Summary{}, err
	}
	defer os.RemoveAll(tmp)

	dirs := map[string]bool{".": true}
	mkdir := func(name string) error {
		for _, d := range append(parentDirs(name), name) {
			if dirs[d] {
				continue
			}
			if err := os.Mkdir(filepath.Join(tmp, filepath.FromSlash(d)), 0o755); err != nil {
				return err
			}
			dirs[d] = true
		}
		return nil
	}
	sum, err := read(r, func(name string, perm fs.FileMode, body io.Reader) error {
		if body == nil {
			return mkdir(name)
		}
		if parents := parentDirs(name); len(parents) > 0 {
			if err := mkdir(parents[len(parents)-1]); err != nil {
				return err
			}
		}
		// The owner, who runs the server, must be able to read and write
		// the store, whatever the archive says.
		return writeNew(filepath.Join(tmp, filepath.FromSlash(name)), perm|0o600, body)
	})
	if err != nil {
		return Summary{}, err
	}
	// Deepest first, so that each directory is synced after those in it.
	names := make([]string, 0, len(dirs))
	for d := range dirs {
		names = append(names, d)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	for _, d := range names {
		if err := durable.SyncDir(filepath.Join(tmp, filepath.FromSlash(d))); err != nil {
			return Summary{}, err
		}
	}

	if sum.DevApp {
		dev := filepath.Join(data, datadir.DevAppFile)
		// A link never replaces a dev app that is there: it may be the
		// only copy of a secret that clients use.
		if err := os.Link(filepath.Join(tmp, datadir.DevAppFile), dev); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return Summary{}, fmt.Errorf("%s already exists: restore into a data dir without a dev app, or remove it", dev)
			}
			return Summary{}, err
		}
		defer func() {
			if err != nil {
				os.Remove(dev)
			}
		}()
	}
	// A server may have created the store since the first look; rename
	// would put a directory in place of an empty one.
	if err := mustNotExist(store); err != nil {
		return Summary{}, err
	}
	if err := os.Rename(filepath.Join(tmp, datadir.StoreDir), store); err != nil {
		return Summary{}, err
	}
	return sum, durable.SyncDir(data)
}

// mustNotExist refuses a store that is there already: restoring over it
// would mix two stores' files.
func mustNotExist(store string) error {
	_, err := os.Lstat(store)
	switch {
	case err == nil:
		return fmt.Errorf("%s already exists: restore into a data dir without a store", store)
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	return nil
}

// writeNew creates the file path, which must not exist, with the contents
// of r, and syncs it.
func writeNew(path string, perm fs.FileMode, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
