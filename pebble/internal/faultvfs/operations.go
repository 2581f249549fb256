package faultvfs

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// The methods of vfs.FS. Before the fault each passes to base, and a
// failed create is the fault; after it each answers from the view of the
// disk that the fault left (afterfault.go).

// Create implements vfs.FS.
func (fs *FS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	if !fs.Faulted() {
		f, err := fs.base.Create(name, category)
		if err == nil {
			return fs.wrap(f, name, dropsWrites(name)), nil
		}
		fs.Fault(fmt.Errorf("create %s: %w", name, err))
	}
	name = filepath.Clean(name)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.memLocked(name).Create(name, category)
}

// ReuseForWrite implements vfs.FS; Pebble uses it to recycle WAL files.
func (fs *FS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	if !fs.Faulted() {
		f, err := fs.base.ReuseForWrite(oldname, newname, category)
		if err == nil {
			return fs.wrap(f, newname, dropsWrites(newname)), nil
		}
		fs.Fault(fmt.Errorf("reuse %s as %s: %w", oldname, newname, err))
	}
	oldname, newname = filepath.Clean(oldname), filepath.Clean(newname)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.removeLocked(oldname)
	return fs.memLocked(newname).Create(newname, category)
}

// Open implements vfs.FS. Files opened for reading are not wrapped: a
// failed read answers that call with an error but endangers nothing that
// is stored.
func (fs *FS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	if fs.Faulted() {
		clean, inMem, gone := fs.lookupFaulted(name)
		if inMem {
			return fs.mem.Open(clean, opts...)
		}
		if gone {
			return nil, notExist("open", name)
		}
	}
	return fs.base.Open(name, opts...)
}

// OpenReadWrite implements vfs.FS.
func (fs *FS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	if fs.Faulted() {
		clean := filepath.Clean(name)
		fs.mu.Lock()
		inMem := fs.inMemLocked(clean)
		fs.mu.Unlock()
		if inMem {
			return fs.mem.OpenReadWrite(clean, category, opts...)
		}
		return nil, fs.refusal()
	}
	f, err := fs.base.OpenReadWrite(name, category, opts...)
	if err != nil {
		return nil, err
	}
	return fs.wrap(f, name, dropsWrites(name)), nil
}

// OpenDir implements vfs.FS. A directory is synced to make the files
// created or removed in it durable; Pebble panics when that fails.
func (fs *FS) OpenDir(name string) (vfs.File, error) {
	f, err := fs.base.OpenDir(name)
	if err != nil {
		return nil, err
	}
	return fs.wrap(f, name, true), nil
}

// Remove implements vfs.FS. After the fault a disk file is only hidden,
// since deleting it could take from the disk what the last durable
// MANIFEST still needs.
func (fs *FS) Remove(name string) error {
	if !fs.Faulted() {
		return fs.base.Remove(name)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.removeLocked(filepath.Clean(name))
}

// RemoveAll implements vfs.FS; Pebble does not use it on its own directory.
func (fs *FS) RemoveAll(name string) error {
	if !fs.Faulted() {
		return fs.base.RemoveAll(name)
	}
	return nil
}

// Rename implements vfs.FS. Pebble renames files only while it opens (the
// OPTIONS file), so after the fault only a file created since can move.
func (fs *FS) Rename(oldname, newname string) error {
	if !fs.Faulted() {
		return fs.base.Rename(oldname, newname)
	}
	oldname, newname = filepath.Clean(oldname), filepath.Clean(newname)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if !fs.inMemLocked(oldname) {
		return fs.refusal()
	}
	return fs.memLocked(newname).Rename(oldname, newname)
}

// Link implements vfs.FS; Pebble links files only to ingest them.
func (fs *FS) Link(oldname, newname string) error {
	if !fs.Faulted() {
		return fs.base.Link(oldname, newname)
	}
	return fs.refusal()
}

// MkdirAll implements vfs.FS.
func (fs *FS) MkdirAll(dir string, perm os.FileMode) error {
	if !fs.Faulted() {
		return fs.base.MkdirAll(dir, perm)
	}
	dir = filepath.Clean(dir)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.memLocked(dir).MkdirAll(dir, perm)
}

// List implements vfs.FS.
func (fs *FS) List(dir string) ([]string, error) {
	names, err := fs.base.List(dir)
	if err != nil || !fs.Faulted() {
		return names, err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := names[:0]
	seen := map[string]bool{}
	for _, n := range names {
		if !fs.gone[filepath.Join(dir, n)] {
			out = append(out, n)
			seen[n] = true
		}
	}
	if fs.mem != nil {
		mem, _ := fs.mem.List(filepath.Clean(dir))
		for _, n := range mem {
			if !seen[n] {
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// Stat implements vfs.FS.
func (fs *FS) Stat(name string) (vfs.FileInfo, error) {
	if fs.Faulted() {
		clean, inMem, gone := fs.lookupFaulted(name)
		if inMem {
			return fs.mem.Stat(clean)
		}
		if gone {
			return nil, notExist("stat", name)
		}
	}
	return fs.base.Stat(name)
}

// PathBase implements vfs.FS.
func (fs *FS) PathBase(path string) string { return fs.base.PathBase(path) }

// PathJoin implements vfs.FS.
func (fs *FS) PathJoin(elem ...string) string { return fs.base.PathJoin(elem...) }

// PathDir implements vfs.FS.
func (fs *FS) PathDir(path string) string { return fs.base.PathDir(path) }

// GetDiskUsage implements vfs.FS.
func (fs *FS) GetDiskUsage(path string) (vfs.DiskUsage, error) {
	return fs.base.GetDiskUsage(path)
}

// Unwrap implements vfs.FS. It returns nil so that nothing can reach the
// disk around the wrapper.
func (fs *FS) Unwrap() vfs.FS { return nil }
