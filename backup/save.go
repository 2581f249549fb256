package backup

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tallyserver/tally/internal/durable"
)

// Save copies a backup from r into the file path, checking it as Verify
// does while it copies, so that path holds only a whole backup. It writes
// path+".tmp", syncs it, and moves it into place, then syncs the
// directory, so that a crash leaves either the old state or the whole new
// file. Unless replace is set, an existing path is refused. The file is
// readable by its owner only: it may hold the dev app's secret key.
func Save(r io.Reader, path string, replace bool) (Summary, error) {
	if !replace {
		if _, err := os.Lstat(path); err == nil {
			return Summary{}, fmt.Errorf("%s exists; choose another file or replace it with --force", path)
		}
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return Summary{}, err
	}
	defer func() {
		if tmp != "" {
			f.Close()
			os.Remove(tmp)
		}
	}()
	sum, err := Verify(io.TeeReader(r, f))
	if err != nil {
		return Summary{}, err
	}
	if err := f.Sync(); err != nil {
		return Summary{}, err
	}
	if err := f.Close(); err != nil {
		return Summary{}, err
	}
	if replace {
		err = os.Rename(tmp, path)
	} else {
		// A link does not replace a file that appeared meanwhile; where
		// there are no hard links, the check above has to do.
		switch err = os.Link(tmp, path); {
		case err == nil:
			err = os.Remove(tmp)
		case errors.Is(err, fs.ErrExist):
			err = fmt.Errorf("%s exists; choose another file or replace it with --force", path)
		default:
			err = os.Rename(tmp, path)
		}
	}
	if err != nil {
		return Summary{}, err
	}
	tmp = ""
	return sum, durable.SyncDir(filepath.Dir(path))
}
