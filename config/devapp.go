package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/internal/datadir"
	"github.com/tallyserver/tally/internal/durable"
)

// The development app's SDKAppID is drawn from this range, which looks like
// the ids Tencent hands out, so that clients accept it.
const (
	devAppIDMin = 1400000000
	devAppIDMax = 1499999999
)

// LoadOrCreateDevApp returns the development app kept in the data
// directory dir (datadir.DevAppFile), creating it on first use with a random sdkappid in
// 1400000000..1499999999, a random 64-hex-char secret key (crypto/rand),
// admin "administrator", default edition and limits. created reports whether
// it was made now.
//
// The file is written in the format of a config file, so that a user can
// copy its entry into one. A file that exists but cannot be read, or does
// not hold exactly one app, is an error rather than replaced: it may be the
// only copy of a secret that clients use. It is created durably, readable
// by its owner only, and never over another: when two servers create the
// app at the same time, both return the one that was stored first.
func LoadOrCreateDevApp(dir string) (app tally.App, created bool, err error) {
	path := filepath.Join(dir, datadir.DevAppFile)
	app, err = loadDevApp(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return app, false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return tally.App{}, false, fmt.Errorf("dev app: %w", err)
	}
	app, err = newDevApp()
	if err != nil {
		return tally.App{}, false, err
	}
	err = durable.Create(path, false, func(w io.Writer) error {
		_, err := w.Write(formatDevApp(app))
		return err
	})
	if errors.Is(err, fs.ErrExist) {
		app, err = loadDevApp(path)
		return app, false, err
	}
	if err != nil {
		return tally.App{}, false, fmt.Errorf("dev app: %w", err)
	}
	return app, true, nil
}

func loadDevApp(path string) (tally.App, error) {
	f, err := Load(path)
	if err != nil {
		return tally.App{}, err
	}
	if len(f.Apps) != 1 || f.Listen != "" || f.Data != "" {
		return tally.App{}, fmt.Errorf("config %s: must hold one app and nothing else, as written when it was created", path)
	}
	return f.Apps[0], nil
}

func newDevApp() (tally.App, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(devAppIDMax-devAppIDMin+1))
	if err != nil {
		return tally.App{}, fmt.Errorf("dev app: %w", err)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return tally.App{}, fmt.Errorf("dev app: %w", err)
	}
	return tally.App{
		SDKAppID:        uint32(devAppIDMin + n.Int64()),
		SecretKey:       hex.EncodeToString(secret),
		Admins:          []string{"administrator"},
		Edition:         tally.DefaultEdition,
		RateLimitPerAPI: tally.DefaultRateLimitPerAPI,
		RateLimitPerApp: tally.DefaultRateLimitPerApp,
	}, nil
}

// formatDevApp writes app as a config file with one entry in apps. Strings
// are quoted with strconv.Quote, whose escapes are all valid in YAML
// double-quoted strings, so any valid UTF-8 text reads back unchanged.
func formatDevApp(a tally.App) []byte {
	admins := make([]string, len(a.Admins))
	for i, id := range a.Admins {
		admins[i] = strconv.Quote(id)
	}
	var b strings.Builder
	b.WriteString("# The development app of this data directory. `tally serve` created it\n")
	b.WriteString("# because it ran without a config file, and uses it whenever it runs so\n")
	b.WriteString("# again. To keep it when you write a config file, copy the entry under\n")
	b.WriteString("# apps: into that file's apps: list.\n")
	b.WriteString("apps:\n")
	fmt.Fprintf(&b, "  - sdkappid: %d\n", a.SDKAppID)
	fmt.Fprintf(&b, "    secret_key: %s\n", strconv.Quote(a.SecretKey))
	fmt.Fprintf(&b, "    admins: [%s]\n", strings.Join(admins, ", "))
	fmt.Fprintf(&b, "    edition: %s\n", strconv.Quote(string(a.Edition)))
	fmt.Fprintf(&b, "    rate_limit_per_api: %d\n", a.RateLimitPerAPI)
	fmt.Fprintf(&b, "    rate_limit_per_app: %d\n", a.RateLimitPerApp)
	fmt.Fprintf(&b, "    disabled: %t\n", a.Disabled)
	return []byte(b.String())
}
