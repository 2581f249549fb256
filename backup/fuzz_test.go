package backup

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzVerify feeds the reader of backups, which reads files a user hands
// to tally restore, arbitrary bytes. It must not panic, and an archive it
// accepts must restore, writing nothing outside the data dir.
func FuzzVerify(f *testing.F) {
	_, good := takeBackup(f)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(handMade(f, reg("store/000001.log", "wal")))
	f.Add(handMade(f, entry{name: "store/../../x", typ: tar.TypeReg, body: "x"}))
	f.Add(handMade(f, entry{name: "store/l", typ: tar.TypeSymlink, link: "/etc/passwd"}))
	f.Add(handMade(f, reg("store/a", "1"), reg("store/a", "2")))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, archive []byte) {
		sum, err := Verify(bytes.NewReader(archive))
		if err != nil {
			return
		}
		parent := t.TempDir()
		data := filepath.Join(parent, "data")
		got, err := Restore(bytes.NewReader(archive), data)
		if err != nil {
			t.Fatalf("Verify accepted the archive (%+v) but Restore refused it: %v", sum, err)
		}
		if got != sum {
			t.Errorf("Restore says %+v, Verify %+v", got, sum)
		}
		filepath.WalkDir(parent, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			if path != parent && path != data && !strings.HasPrefix(path, data+string(os.PathSeparator)) {
				t.Errorf("Restore wrote %s, outside %s", path, data)
			}
			if d.Type()&fs.ModeSymlink != 0 {
				t.Errorf("Restore made a symlink %s", path)
			}
			return nil
		})
	})
}
