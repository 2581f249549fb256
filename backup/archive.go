// Package backup makes, checks, saves and restores backups of a Tally data
// directory, taken while the server runs.
//
// A backup is a tar archive of what a data directory needs: the store, as
// a Pebble checkpoint under store/, and the development app's file, if the
// directory has one, so that a server without a config file comes back
// with the same app and keys. Its last entry is a manifest naming every
// other file with its size and SHA-256. archive/tar reads a stream cut at
// the boundary between two entries, or within the two zero blocks that
// end a tar, as a clean end, so a reader requires the manifest, and the
// zero blocks after it, to tell a whole backup from a truncated one; the
// checksums catch one that was damaged since. Plain tar can unpack a
// backup too.
package backup

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/tallyserver/tally/internal/datadir"
)

// ManifestName is the backup's last entry. The others are named as they
// are in a data directory: datadir.StoreDir and what it holds, and
// datadir.DevAppFile.
const ManifestName = "tally-backup.json"

// format is the version of the layout written in the manifest; a reader
// refuses another.
const format = 1

// manifest lists the files of a backup. It is the archive's last entry.
type manifest struct {
	Format  int       `json:"format"`
	Created time.Time `json:"created"`
	Files   []file    `json:"files"`
}

// file is one regular file of a backup.
type file struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Summary says what a backup holds.
type Summary struct {
	Created time.Time
	// Files and Bytes count the regular files, the manifest aside.
	Files int
	Bytes int64
	// DevApp reports whether the backup holds the development app.
	DevApp bool
}

// checkName refuses a name that a restore must not write: one that is not
// a clean relative path (absolute, with "..", "." or empty elements, or a
// backslash, which some systems take for a separator), or that lies
// outside the store and is not the dev app's file or the manifest.
func checkName(name string, dir bool) error {
	clean := name
	if dir {
		clean = strings.TrimSuffix(name, "/")
	}
	if !fs.ValidPath(clean) || clean == "." || strings.Contains(clean, `\`) {
		return fmt.Errorf("entry %q: not a clean relative path", name)
	}
	switch {
	case clean == datadir.StoreDir && dir:
	case strings.HasPrefix(clean, datadir.StoreDir+"/"):
	case clean == datadir.DevAppFile && !dir:
	case clean == ManifestName && !dir:
	default:
		return fmt.Errorf("entry %q: a backup holds only %s/, %s and %s", name, datadir.StoreDir, datadir.DevAppFile, ManifestName)
	}
	return nil
}

// parentDirs returns the directories above name, outermost first.
func parentDirs(name string) []string {
	var dirs []string
	for d := path.Dir(name); d != "."; d = path.Dir(d) {
		dirs = append([]string{d}, dirs...)
	}
	return dirs
}
