// Package durable holds the file system steps that make a change survive a
// crash, which more than one package takes.
package durable

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Create makes the file path hold what write writes to it, so that a crash
// leaves either what was there before (or nothing) or the whole of the new
// file, never a part: write fills a temporary file in the same directory,
// which is synced, moved into place, and the directory synced. A failure
// leaves no temporary file behind. The file has mode 0600, readable by its
// owner only, because the files made this way hold secret keys.
//
// Unless replace is set, an existing path is refused with an error that
// matches fs.ErrExist: before write runs, so that a long write is not done
// for nothing, and again when the file is moved into place, in case it
// appeared meanwhile. On a file system without hard links only the first
// check holds, since the move is then a rename, which replaces.
func Create(path string, replace bool, write func(io.Writer) error) error {
	if !replace {
		if _, err := os.Lstat(path); err == nil {
			return exists(path)
		}
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // once tmp is in place, there is nothing to remove
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := place(tmp, path, replace); err != nil {
		return err
	}
	return SyncDir(dir)
}

// place moves the file tmp to path. Without replace it links rather than
// renames, because a link, unlike a rename, fails when path exists.
func place(tmp, path string, replace bool) error {
	if replace {
		return os.Rename(tmp, path)
	}
	switch err := os.Link(tmp, path); {
	case err == nil:
		os.Remove(tmp) // Create's deferred remove tries again
		return nil
	case errors.Is(err, fs.ErrExist):
		return exists(path)
	default:
		return os.Rename(tmp, path) // no hard links here
	}
}

// exists is the error of a path that Create must not replace. It names the
// path, as the error of the link would name the temporary file.
func exists(path string) error {
	return &fs.PathError{Op: "create", Path: path, Err: fs.ErrExist}
}

// SyncDir makes the entries just added to, renamed into or removed from dir
// survive a crash: fsyncing a file makes its contents durable, but not its
// name in the directory.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
