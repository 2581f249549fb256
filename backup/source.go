package backup

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tallyserver/tally/internal/datadir"
)

// Checkpointer makes a consistent copy of a store, while it serves, in a
// directory that does not exist yet; *pebble.Store is one.
type Checkpointer interface {
	Checkpoint(dir string) error
}

// tmpPrefix starts the names of the directories, in the data directory,
// that hold checkpoints until they have been written out.
const tmpPrefix = ".backup-"

// Source makes backups of a data directory whose store is open. It makes
// one at a time: each holds a checkpoint, whose hard links keep tables on
// disk that compactions have replaced, and the machine's disk and CPUs
// also serve the API.
type Source struct {
	store Checkpointer
	data  string
	log   *slog.Logger
	mu    sync.Mutex
}

// NewSource returns a Source for the data directory data, whose store is
// store. log hears of the backups served over HTTP.
func NewSource(store Checkpointer, data string, log *slog.Logger) *Source {
	return &Source{store: store, data: data, log: log}
}

// Snapshot is a backup taken and not yet written out: a checkpoint of the
// store in a directory of its own, and the dev app's file as it was then.
// Close removes it.
type Snapshot struct {
	src     *Source
	tmp     string
	devApp  []byte // nil when the data directory has no dev app
	created time.Time
}

// Snapshot takes a backup; the next one waits until this one is closed.
// The checkpoint is made in the data directory, on the store's file
// system, so that Pebble can hard-link the tables rather than copy them.
func (s *Source) Snapshot() (_ *Snapshot, err error) {
	s.mu.Lock()
	defer func() {
		if err != nil {
			s.mu.Unlock()
		}
	}()
	s.removeStale()
	tmp, err := os.MkdirTemp(s.data, tmpPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	created := time.Now().UTC()
	if err := s.store.Checkpoint(filepath.Join(tmp, datadir.StoreDir)); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("backup: %w", err)
	}
	devApp, err := os.ReadFile(filepath.Join(s.data, datadir.DevAppFile))
	if errors.Is(err, fs.ErrNotExist) {
		devApp, err = nil, nil
	}
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("backup: %w", err)
	}
	return &Snapshot{src: s, tmp: tmp, devApp: devApp, created: created}, nil
}

// removeStale removes the checkpoints that a server which died while it
// made a backup left behind: their hard links would keep replaced tables
// on disk for ever. The caller holds s.mu, so no backup of this server is
// under way, and Pebble's lock on the store keeps other servers off the
// data directory.
func (s *Source) removeStale() {
	stale, _ := filepath.Glob(filepath.Join(s.data, tmpPrefix+"*"))
	for _, dir := range stale {
		if err := os.RemoveAll(dir); err != nil {
			s.log.Warn("backup: cannot remove a stale checkpoint", "dir", dir, "err", err)
		}
	}
}

// Close removes the snapshot's checkpoint and lets the next backup start.
func (sn *Snapshot) Close() error {
	err := os.RemoveAll(sn.tmp)
	sn.src.mu.Unlock()
	return err
}

// WriteArchive writes the snapshot to w as a backup: the store's directories
// and files, the dev app's file if there was one, and the manifest last.
func (sn *Snapshot) WriteArchive(w io.Writer) (Summary, error) {
	tw := tar.NewWriter(w)
	m := manifest{Format: format, Created: sn.created}
	// add writes one regular file and lists it in the manifest.
	add := func(name string, mode fs.FileMode, size int64, r io.Reader) error {
		f, err := writeFile(tw, name, mode, size, sn.created, r)
		m.Files = append(m.Files, f)
		return err
	}

	root := filepath.Join(sn.tmp, datadir.StoreDir)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(sn.tmp, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755, ModTime: sn.created})
		case d.Type().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			// The checkpoint's files are its own and no longer change, so
			// the size taken now is the size copied; tar fails otherwise.
			return add(name, info.Mode(), info.Size(), f)
		default:
			return fmt.Errorf("%s: not a regular file or a directory", p)
		}
	})
	if err != nil {
		return Summary{}, fmt.Errorf("backup: %w", err)
	}
	sum := Summary{Created: sn.created}
	if sn.devApp != nil {
		// The file holds the app's secret key: only its owner may read it.
		if err := add(datadir.DevAppFile, 0o600, int64(len(sn.devApp)), bytes.NewReader(sn.devApp)); err != nil {
			return Summary{}, fmt.Errorf("backup: %w", err)
		}
		sum.DevApp = true
	}
	for _, f := range m.Files {
		sum.Files++
		sum.Bytes += f.Size
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Summary{}, fmt.Errorf("backup: %w", err)
	}
	if _, err := writeFile(tw, ManifestName, 0o644, int64(len(b)), sn.created, bytes.NewReader(b)); err != nil {
		return Summary{}, fmt.Errorf("backup: %w", err)
	}
	if err := tw.Close(); err != nil {
		return Summary{}, fmt.Errorf("backup: %w", err)
	}
	return sum, nil
}

// writeFile writes a regular file of size bytes from r into tw and returns
// it as the manifest lists it.
func writeFile(tw *tar.Writer, name string, mode fs.FileMode, size int64, mtime time.Time, r io.Reader) (file, error) {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(mode.Perm()), Size: size, ModTime: mtime}
	if err := tw.WriteHeader(hdr); err != nil {
		return file{}, err
	}
	h := sha256.New()
	if _, err := io.Copy(tw, io.TeeReader(r, h)); err != nil {
		return file{}, fmt.Errorf("%s: %w", name, err)
	}
	return file{Name: name, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}
