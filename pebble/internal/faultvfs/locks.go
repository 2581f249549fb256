package faultvfs

import (
	"io"
	"sync"
)

// Lock implements vfs.FS. The locks it hands out are kept, for
// ReleaseLocks.
func (fs *FS) Lock(name string) (io.Closer, error) {
	c, err := fs.base.Lock(name)
	if err != nil {
		return nil, err
	}
	l := &onceCloser{c: c}
	fs.mu.Lock()
	fs.locks = append(fs.locks, l)
	fs.mu.Unlock()
	return l, nil
}

// ReleaseLocks lets go of the directory locks of an incarnation that could
// not be closed, so that the directory can be opened again. Call it only
// once the FS has faulted (Fault makes it so): only then is the incarnation
// cut off from the disk, and so harmless to the next one.
func (fs *FS) ReleaseLocks() {
	fs.mu.Lock()
	locks := fs.locks
	fs.locks = nil
	fs.mu.Unlock()
	for _, l := range locks {
		_ = l.Close()
	}
}

// onceCloser closes a lock once; Pebble's locks panic when closed twice,
// and an abandoned incarnation may close its lock after its owner did.
type onceCloser struct {
	c    io.Closer
	once sync.Once
	err  error
}

func (l *onceCloser) Close() error {
	l.once.Do(func() { l.err = l.c.Close() })
	return l.err
}
