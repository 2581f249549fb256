// Package durable holds the file system steps that make a change survive a
// crash, which more than one package takes.
package durable

import "os"

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
