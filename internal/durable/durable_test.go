package durable

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// write returns a Create callback that writes s.
func write(s string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	}
}

// only fails the test unless dir holds the one file name with contents
// want: no temporary file may be left.
func only(t *testing.T, dir, name, want string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != name {
		t.Errorf("dir holds %v, want only %s", entries, name)
	}
	if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != want {
		t.Errorf("%s holds %q (%v), want %q", name, b, err, want)
	}
}

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := Create(path, false, write("one")); err != nil {
		t.Fatal(err)
	}
	only(t, dir, "f", "one")
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("stat: %v, %v; want mode 0600", fi, err)
	}

	// Without replace, an existing file stays, and write is not called.
	called := false
	err := Create(path, false, func(w io.Writer) error { called = true; return nil })
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("Create over a file: %v; want an fs.ErrExist naming %s", err, path)
	}
	if called {
		t.Error("Create called write for a file it was to refuse")
	}
	only(t, dir, "f", "one")

	// A file that appears while write runs is kept too.
	err = Create(filepath.Join(dir, "g"), false, func(w io.Writer) error {
		io.WriteString(w, "late")
		return os.WriteFile(filepath.Join(dir, "g"), []byte("first"), 0o600)
	})
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create over a file made meanwhile: %v; want an fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "g")); string(b) != "first" {
		t.Errorf("g holds %q, want the file made meanwhile", b)
	}
	os.Remove(filepath.Join(dir, "g"))

	if err := Create(path, true, write("two")); err != nil {
		t.Fatalf("Create with replace: %v", err)
	}
	only(t, dir, "f", "two")

	// A failed write leaves the file as it was and nothing else.
	boom := errors.New("boom")
	if err := Create(path, true, func(w io.Writer) error { io.WriteString(w, "three"); return boom }); err != boom {
		t.Errorf("Create with a failing write: %v, want %v", err, boom)
	}
	only(t, dir, "f", "two")
}
