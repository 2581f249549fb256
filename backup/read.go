package backup

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/tallyserver/tally/internal/datadir"
)

// maxManifest bounds the manifest read into memory; a store's checkpoint
// has tens of files, whose entries take about 120 bytes each.
const maxManifest = 16 << 20

// blockSize is the unit of a tar archive.
const blockSize = 512

// errTruncated is wrapped by every error that says the archive ended early.
var errTruncated = errors.New("the archive is truncated")

// visitor is told of each entry of a backup as it is read: a directory
// (r nil) or a regular file with its contents and permission bits. It must
// not keep r.
type visitor func(name string, perm fs.FileMode, r io.Reader) error

// Verify reads a whole backup from r and checks it: the names and types of
// its entries, that it ends with its manifest, and that every file matches
// the manifest.
func Verify(r io.Reader) (Summary, error) {
	return read(r, func(string, fs.FileMode, io.Reader) error { return nil })
}

// read reads a backup from r, hands each entry other than the manifest to
// visit, and checks the backup as Verify does. Only once read returns nil
// is what visit was given known to be a whole backup.
func read(r io.Reader, visit visitor) (Summary, error) {
	cr := &countingReader{r: r}
	tr := tar.NewReader(cr)
	seen := map[string]bool{}
	var (
		got  []file
		m    *manifest
		sum  Summary
		size int64
		// end is where the manifest's last block ends, and the two zero
		// blocks that end a tar begin.
		end int64
	)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			// archive/tar takes the end of the stream for the end of the
			// archive, even without the zero blocks or within them.
			if m != nil && cr.n < end+2*blockSize {
				return Summary{}, fmt.Errorf("%w: it ends without the two zero blocks that end a tar", errTruncated)
			}
			break
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return Summary{}, fmt.Errorf("%w: %v", errTruncated, err)
			}
			return Summary{}, fmt.Errorf("not a backup: %w", err)
		}
		if m != nil {
			return Summary{}, fmt.Errorf("entry %q after the manifest %s", hdr.Name, ManifestName)
		}
		dir := hdr.Typeflag == tar.TypeDir
		if !dir && hdr.Typeflag != tar.TypeReg {
			return Summary{}, fmt.Errorf("entry %q: type %q; a backup holds only regular files and directories", hdr.Name, hdr.Typeflag)
		}
		if err := checkName(hdr.Name, dir); err != nil {
			return Summary{}, err
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		if seen[name] {
			return Summary{}, fmt.Errorf("entry %q appears twice", hdr.Name)
		}
		seen[name] = true
		perm := fs.FileMode(hdr.Mode).Perm()

		if name == ManifestName {
			if m, err = readManifest(tr, hdr.Size); err != nil {
				return Summary{}, err
			}
			end = (cr.n + blockSize - 1) / blockSize * blockSize
			continue
		}
		if dir {
			if err := visit(name, perm, nil); err != nil {
				return Summary{}, err
			}
			continue
		}
		// The hash sees every byte, including what visit leaves unread.
		h := sha256.New()
		body := io.TeeReader(&bodyReader{r: tr, name: name}, h)
		if err := visit(name, perm, body); err != nil {
			return Summary{}, err
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			return Summary{}, err
		}
		got = append(got, file{Name: name, Size: hdr.Size, SHA256: hex.EncodeToString(h.Sum(nil))})
		size += hdr.Size
		sum.DevApp = sum.DevApp || name == datadir.DevAppFile
	}
	if m == nil {
		return Summary{}, fmt.Errorf("%w: it ends without its manifest %s (or is no Tally backup)", errTruncated, ManifestName)
	}
	if err := m.check(got); err != nil {
		return Summary{}, err
	}
	sum.Created, sum.Files, sum.Bytes = m.Created, len(got), size
	return sum, nil
}

func readManifest(r io.Reader, size int64) (*manifest, error) {
	if size > maxManifest {
		return nil, fmt.Errorf("manifest %s: %d bytes, more than a backup's manifest can be", ManifestName, size)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: in %s", errTruncated, ManifestName)
		}
		return nil, fmt.Errorf("manifest %s: %w", ManifestName, err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", ManifestName, err)
	}
	if m.Format != format {
		return nil, fmt.Errorf("manifest %s: format %d; this tally reads format %d", ManifestName, m.Format, format)
	}
	return &m, nil
}

// check compares the files read with those the manifest lists, and
// requires a store.
func (m *manifest) check(got []file) error {
	want := make(map[string]file, len(m.Files))
	for _, f := range m.Files {
		want[f.Name] = f
	}
	store := false
	for _, f := range got {
		w, ok := want[f.Name]
		switch {
		case !ok:
			return fmt.Errorf("file %q is not in the manifest", f.Name)
		case w.Size != f.Size:
			return fmt.Errorf("file %q: %d bytes, the manifest says %d", f.Name, f.Size, w.Size)
		case w.SHA256 != f.SHA256:
			return fmt.Errorf("file %q: SHA-256 %s, the manifest says %s: the backup is damaged", f.Name, f.SHA256, w.SHA256)
		}
		delete(want, f.Name)
		store = store || strings.HasPrefix(f.Name, datadir.StoreDir+"/")
	}
	for name := range want {
		return fmt.Errorf("file %q of the manifest is missing", name)
	}
	if !store {
		return fmt.Errorf("the backup holds no file under %s/", datadir.StoreDir)
	}
	return nil
}

// bodyReader reads the contents of one entry, and says, when they end
// early, that the archive is truncated and where.
type bodyReader struct {
	r    io.Reader
	name string
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	switch {
	case err == nil || err == io.EOF:
		return n, err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return n, fmt.Errorf("%w: in %q", errTruncated, b.name)
	default:
		return n, fmt.Errorf("entry %q: %w", b.name, err)
	}
}

// countingReader counts the bytes read through it: archive/tar reads
// exactly the blocks it needs, so the count tells where it is.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
