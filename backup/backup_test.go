package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/datadir"
	"github.com/tallyserver/tally/pebble"
)

const app = 1400000001

// takeBackup opens a real store in a data dir with a dev app file, sets a
// counter, and returns the data dir and a backup of it.
func takeBackup(t testing.TB) (data string, archive []byte) {
	t.Helper()
	data = t.TempDir()
	if err := os.WriteFile(filepath.Join(data, datadir.DevAppFile), []byte("the dev app\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := pebble.Open(filepath.Join(data, datadir.StoreDir))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	name := "n"
	g, members, err := (&tally.NewGroup{ID: "g", Type: tally.GroupPublic, Fields: tally.GroupChange{Name: &name}}).Build(time.Now().Unix())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGroup(ctx, app, g, members); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateCounters(ctx, app, "g", tally.ModeSet, []tally.Counter{{Key: "k", Value: 42}}); err != nil {
		t.Fatal(err)
	}
	src := NewSource(s, data, slog.New(slog.DiscardHandler))
	snap, err := src.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	var buf bytes.Buffer
	if _, err := snap.WriteArchive(&buf); err != nil {
		t.Fatalf("WriteArchive: %v", err)
	}
	if err := snap.Close(); err != nil {
		t.Fatal(err)
	}
	if stale, _ := filepath.Glob(filepath.Join(data, tmpPrefix+"*")); len(stale) > 0 {
		t.Errorf("the snapshot left %v", stale)
	}
	return data, buf.Bytes()
}

// TestRoundTrip restores a backup of a real store into a new data dir and
// opens the store there.
func TestRoundTrip(t *testing.T) {
	_, archive := takeBackup(t)
	sum, err := Verify(bytes.NewReader(archive))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !sum.DevApp || sum.Files < 3 || time.Since(sum.Created) > time.Minute {
		t.Errorf("summary %+v: want the dev app, several files and a recent time", sum)
	}
	data := filepath.Join(t.TempDir(), "restored") // Restore makes it.
	got, err := Restore(bytes.NewReader(archive), data)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got != sum {
		t.Errorf("Restore says %+v, Verify %+v", got, sum)
	}
	if b, err := os.ReadFile(filepath.Join(data, datadir.DevAppFile)); err != nil || string(b) != "the dev app\n" {
		t.Errorf("restored dev app: %q, %v", b, err)
	}
	if left, _ := filepath.Glob(filepath.Join(data, ".restore-*")); len(left) > 0 {
		t.Errorf("the restore left %v", left)
	}
	s, err := pebble.Open(filepath.Join(data, datadir.StoreDir))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cs, err := s.Counters(context.Background(), app, "g", nil)
	if err != nil || len(cs) != 1 || cs[0] != (tally.Counter{Key: "k", Value: 42}) {
		t.Errorf("restored counters %v, %v; want k=42", cs, err)
	}
}

// entry is one entry of an archive made by hand.
type entry struct {
	name string
	typ  byte
	body string
	link string
}

// handMade writes entries and then a manifest listing the regular ones,
// unless the entries hold one.
func handMade(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	m := manifest{Format: format, Created: time.Now()}
	own := false
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.link}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			tw.Write([]byte(e.body))
		}
		own = own || e.name == ManifestName
		if e.typ == tar.TypeReg && e.name != ManifestName {
			m.Files = append(m.Files, file{Name: e.name, Size: int64(len(e.body)), SHA256: sumOf(e.body)})
		}
	}
	if !own {
		b, _ := json.Marshal(m)
		tw.WriteHeader(&tar.Header{Name: ManifestName, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(b))})
		tw.Write(b)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sumOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func reg(name, body string) entry { return entry{name: name, typ: tar.TypeReg, body: body} }

// TestRefusals feeds Restore archives it must refuse, and checks that the
// error names the fault and that nothing is left in the data dir.
func TestRefusals(t *testing.T) {
	_, good := takeBackup(t)
	manifestAt := bytes.Index(good, []byte(ManifestName))
	damaged := bytes.Clone(good)
	damaged[bytes.Index(good, []byte("the dev app"))] ^= 0xff

	tests := []struct {
		name    string
		archive []byte
		want    string
	}{
		{"empty", nil, "truncated"},
		{"not a tar", []byte(strings.Repeat("not a tar ", 100)), "not a backup"},
		{"cut before the manifest", good[:manifestAt], "ends without its manifest"},
		{"cut inside a file", good[:3*512+100], "truncated"},
		{"damaged", damaged, "damaged"},
		{"parent dir", handMade(t, reg("store/a", "x"), reg("../evil", "x")), `"../evil"`},
		{"parent dir inside", handMade(t, reg("store/a", "x"), reg("store/../../evil", "x")), `"store/../../evil"`},
		{"absolute", handMade(t, reg("store/a", "x"), reg("/tmp/evil", "x")), `"/tmp/evil"`},
		{"backslash", handMade(t, reg(`store\..\..\evil`, "x")), `store\\..\\..\\evil`},
		{"outside the layout", handMade(t, reg("store/a", "x"), reg("etc/passwd", "x")), `"etc/passwd"`},
		{"symlink", handMade(t, reg("store/a", "x"), entry{name: "store/link", typ: tar.TypeSymlink, link: "/etc"}), `"store/link"`},
		{"hard link", handMade(t, reg("store/a", "x"), entry{name: "store/hard", typ: tar.TypeLink, link: "/etc/passwd"}), `"store/hard"`},
		{"twice", handMade(t, reg("store/a", "x"), reg("store/a", "y")), `"store/a" appears twice`},
		{"after the manifest", handMade(t, reg("store/a", "x"), reg(ManifestName, `{"format":1,"files":[{"name":"store/a","size":1}]}`), reg("store/b", "x")), `"store/b" after the manifest`},
		{"missing from the manifest", handMade(t, reg("store/a", "x"), reg(ManifestName, `{"format":1}`)), `"store/a" is not in the manifest`},
		{"missing file", handMade(t, reg("store/a", "x"), reg(ManifestName, `{"format":1,"files":[{"name":"store/a","size":1,"sha256":"`+sumOf("x")+`"},{"name":"store/gone","size":1}]}`)), `"store/gone" of the manifest is missing`},
		{"other format", handMade(t, reg("store/a", "x"), reg(ManifestName, `{"format":2}`)), "format 2"},
		{"no store", handMade(t, reg(datadir.DevAppFile, "x")), "no file under store/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Verify(bytes.NewReader(tt.archive)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Verify: %v; want an error with %q", err, tt.want)
			}
			data := t.TempDir()
			_, err := Restore(bytes.NewReader(tt.archive), data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Restore: %v; want an error with %q", err, tt.want)
			}
			if left, _ := os.ReadDir(data); len(left) > 0 {
				t.Errorf("the refused restore left %v in the data dir", left)
			}
		})
	}
}

// TestTruncated cuts a backup at every 256th byte and at its last, and
// checks that Verify and Restore refuse each cut, down to those in the
// two zero blocks that end a tar.
func TestTruncated(t *testing.T) {
	_, archive := takeBackup(t)
	for n := 0; n < len(archive); n = min(n+256, len(archive)-1) {
		cut := archive[:n]
		if _, err := Verify(bytes.NewReader(cut)); !errors.Is(err, errTruncated) {
			t.Errorf("Verify of the first %d of %d bytes: %v; want it truncated", n, len(archive), err)
		}
		data := filepath.Join(t.TempDir(), "data")
		if _, err := Restore(bytes.NewReader(cut), data); !errors.Is(err, errTruncated) || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("Restore of the first %d of %d bytes: %v; want it truncated", n, len(archive), err)
		}
		if left, _ := os.ReadDir(data); len(left) > 0 {
			t.Errorf("the refused restore left %v", left)
		}
		if n == len(archive)-1 {
			break
		}
	}
}

// TestRestoreRefusesAStore checks that Restore leaves a data dir with a
// store, or with a dev app when the backup has one, as it was.
func TestRestoreRefusesAStore(t *testing.T) {
	data, archive := takeBackup(t)
	_, err := Restore(bytes.NewReader(archive), data)
	if want := filepath.Join(data, datadir.StoreDir) + " already exists"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Restore into a data dir with a store: %v; want %q", err, want)
	}

	other := t.TempDir()
	dev := filepath.Join(other, datadir.DevAppFile)
	if err := os.WriteFile(dev, []byte("another app"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Restore(bytes.NewReader(archive), other)
	if want := dev + " already exists"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Restore into a data dir with a dev app: %v; want %q", err, want)
	}
	if b, _ := os.ReadFile(dev); string(b) != "another app" {
		t.Errorf("the dev app is now %q", b)
	}
	if left, _ := os.ReadDir(other); len(left) != 1 {
		t.Errorf("the refused restore left %v", left)
	}
}

// TestSave checks that Save keeps only whole backups and replaces a file
// only when asked to.
func TestSave(t *testing.T) {
	_, archive := takeBackup(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "b.tar")
	if _, err := Save(bytes.NewReader(archive[:len(archive)/2]), out, false); err == nil || !errors.Is(err, errTruncated) {
		t.Errorf("Save of half a backup: %v; want it truncated", err)
	}
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Errorf("the refused save left %v", left)
	}
	if _, err := Save(bytes.NewReader(archive), out, false); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, archive) {
		t.Error("the saved file differs from the backup")
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600: the backup holds the dev app's key", fi.Mode())
	}
	if _, err := Save(bytes.NewReader(archive), out, false); !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), out) {
		t.Errorf("Save over a backup: %v; want an fs.ErrExist naming %s", err, out)
	}
	if _, err := Save(bytes.NewReader(archive), out, true); err != nil {
		t.Errorf("Save with replace: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Errorf("the saves left %v; want only %s", left, out)
	}
}
