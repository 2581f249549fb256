package config

// The settings of the config file, their defaults and what each must be.
// Reading the YAML strictly is strictyaml.go's, so that a new setting is
// written here alone.

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"time"

	"github.com/tallyserver/tally"
	"go.yaml.in/yaml/v3"
)

// Defaults of the server settings. Parse leaves absent settings empty rather
// than filling these in, so that the command can tell a setting the file
// makes from one its flags may override.
const (
	DefaultListen = "127.0.0.1:8080"
	DefaultData   = "./tally-data"
)

// File is a parsed config file.
type File struct {
	// Listen is the host:port the server listens on, "" when the file does
	// not say; the command applies DefaultListen and flag overrides.
	Listen string
	// Data is the data directory, "" when the file does not say.
	Data string
	// Store is the URL of the PostgreSQL database that holds the data,
	// for nodes that share it; "" for the embedded store in Data. It has
	// passed CheckStore, and may hold a password, so it is never shown.
	Store string
	// NATS is the URL of the NATS server, or a comma-separated list of
	// them, that carries the live counter stream's changes between the
	// nodes that share Store; "" for none, as one node needs none. It has
	// passed CheckNATS, and may hold a password, so it is never shown.
	NATS string
	// TLSCert and TLSKey are the PEM files of the certificate (with its
	// chain) and its private key; the file gives both or neither. With
	// them the server speaks HTTPS only, as Tencent's API does.
	TLSCert, TLSKey string
	// LogFormat is "text" or "json", and LogLevel one of "debug", "info",
	// "warn" and "error"; "" when the file does not say.
	LogFormat, LogLevel string
	// HTTPFront is the HTTP server the API is served on: "nethttp" or
	// "fasthttp"; "" when the file does not say, for DefaultHTTPFront.
	HTTPFront string
	// CallbackMaxAge is how long an after-event is retried before it is
	// dropped; 0 when the file does not say, for DefaultCallbackMaxAge.
	CallbackMaxAge time.Duration
	// StreamBudget is how many messages a second the live counter
	// stream may send for one group, summed over its subscribers; 0 when
	// the file does not say, for stream.DefaultBudget.
	StreamBudget int
	// MemoryBudget is the memory the embedded store may use for its
	// caches and memtables, in bytes; 0 when the file does not say, for
	// the store's default. ParseMemoryBudget took it.
	MemoryBudget int64
	// Apps are the apps in file order. Each has its defaults applied and
	// passes Validate, and no two share an SDKAppID. There may be none: what
	// a server does without apps is for the caller to decide.
	Apps []tally.App
	// Source is the file's contents as Load read them (nil from Parse),
	// so that a caller watching the file can tell a change from the
	// config it runs, without reading the file a second time.
	Source []byte
}

// Load reads and parses the config file at path. Its errors start with
// "config <path>: "; a missing file gives an error that matches
// fs.ErrNotExist, so a caller can treat an absent default file as no file.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in the prefix already
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	f.Source = data
	return f, nil
}

// Parse parses the contents of a config file. An empty file, or one of
// comments only, is valid and has no apps.
func Parse(data []byte) (*File, error) {
	root, err := document(data)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return &File{}, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, errAt(root, "", "the file must be a mapping with the keys listen, data and apps")
	}
	fields, err := mappingFields(root, "")
	if err != nil {
		return nil, err
	}
	f := &File{}
	for _, fl := range fields {
		switch fl.name {
		case "listen":
			if f.Listen, err = stringValue(fl); err != nil {
				return nil, err
			}
			if _, _, err := net.SplitHostPort(f.Listen); err != nil {
				return nil, errAt(fl.key, fl.path, "%q is not a host:port such as %s", f.Listen, DefaultListen)
			}
		case "data":
			if f.Data, err = stringValue(fl); err != nil {
				return nil, err
			}
			if f.Data == "" {
				return nil, errAt(fl.key, fl.path, "empty; leave it out for %s", DefaultData)
			}
		case "store":
			if f.Store, err = stringValue(fl); err != nil {
				return nil, err
			}
			if f.Store == "" {
				return nil, errAt(fl.key, fl.path, "empty; leave it out for the embedded store in data")
			}
			if err := CheckStore(f.Store); err != nil {
				return nil, errAt(fl.key, fl.path, "%v", err)
			}
		case "nats_url":
			if f.NATS, err = stringValue(fl); err != nil {
				return nil, err
			}
			if f.NATS == "" {
				return nil, errAt(fl.key, fl.path, "empty; leave it out on a single node")
			}
			if err := CheckNATS(f.NATS); err != nil {
				return nil, errAt(fl.key, fl.path, "%v", err)
			}
		case "tls_cert", "tls_key":
			v, err := stringValue(fl)
			if err != nil {
				return nil, err
			}
			if v == "" {
				return nil, errAt(fl.key, fl.path, "empty; give a PEM file, or leave out tls_cert and tls_key for plain HTTP")
			}
			if fl.name == "tls_cert" {
				f.TLSCert = v
			} else {
				f.TLSKey = v
			}
		case "log_format":
			if f.LogFormat, err = oneOf(fl, LogFormats); err != nil {
				return nil, err
			}
		case "log_level":
			if f.LogLevel, err = oneOf(fl, LogLevels); err != nil {
				return nil, err
			}
		case "http_front":
			if f.HTTPFront, err = oneOf(fl, HTTPFronts); err != nil {
				return nil, err
			}
		case "callback_max_age":
			if f.CallbackMaxAge, err = durationValue(fl); err != nil {
				return nil, err
			}
		case "stream_budget":
			v, ok := intValue(fl.val, 1, 100_000_000)
			if !ok {
				return nil, errAt(fl.key, fl.path, "%s; must be a whole number of messages a second, 1 to 100000000", show(fl.val))
			}
			f.StreamBudget = int(v)
		case "memory_budget":
			if f.MemoryBudget, err = memoryBudgetValue(fl); err != nil {
				return nil, err
			}
		case "apps":
			if f.Apps, err = parseApps(fl); err != nil {
				return nil, err
			}
		default:
			return nil, unknownField(fl)
		}
	}
	// A certificate without its key, or a key without its certificate, is
	// half of an HTTPS setup; serving plain HTTP instead would be a
	// surprise that only shows when clients fail.
	for _, fl := range fields {
		switch {
		case fl.name == "tls_cert" && f.TLSKey == "":
			return nil, errAt(fl.key, "tls_key", "missing; tls_cert needs its private key")
		case fl.name == "tls_key" && f.TLSCert == "":
			return nil, errAt(fl.key, "tls_cert", "missing; tls_key needs its certificate")
		}
	}
	return f, nil
}

// The values log_format, log_level and http_front accept.
var (
	LogFormats = []string{"text", "json"}
	LogLevels  = []string{"debug", "info", "warn", "error"}
	HTTPFronts = []string{"nethttp", "fasthttp"}
)

// DefaultHTTPFront is the HTTP server the API is served on when neither
// the file nor the command line says: Go's own, net/http, until the
// fasthttp front has been weighed (issue 15).
const DefaultHTTPFront = "nethttp"

func parseApps(fl field) ([]tally.App, error) {
	seq, err := sequence(fl)
	if err != nil {
		return nil, err
	}
	apps := make([]tally.App, 0, len(seq.Content))
	first := make(map[uint32]int) // sdkappid -> index of the app that has it
	for i, n := range seq.Content {
		path := fmt.Sprintf("%s[%d]", fl.path, i)
		app, idLine, err := parseApp(resolve(n), path)
		if err != nil {
			return nil, err
		}
		if j, dup := first[app.SDKAppID]; dup {
			return nil, fmt.Errorf("line %d: %s.sdkappid: %d is also %s[%d]", idLine, path, app.SDKAppID, fl.path, j)
		}
		first[app.SDKAppID] = i
		apps = append(apps, app)
	}
	return apps, nil
}

// parseApp reads one entry of apps and returns it with the line of its
// sdkappid, for the duplicate check.
func parseApp(n *yaml.Node, path string) (tally.App, int, error) {
	app := tally.App{
		Edition:         tally.DefaultEdition,
		RateLimitPerAPI: tally.DefaultRateLimitPerAPI,
		RateLimitPerApp: tally.DefaultRateLimitPerApp,
	}
	if n.Kind != yaml.MappingNode {
		return app, 0, errAt(n, path, "must be a mapping of settings such as sdkappid and secret_key")
	}
	fields, err := mappingFields(n, path)
	if err != nil {
		return app, 0, err
	}
	lines := make(map[string]int, len(fields)) // a setting, as Validate names it -> its line
	events := false                            // callback_events was given
	for _, fl := range fields {
		lines[fl.name] = fl.key.Line
		switch fl.name {
		case "sdkappid":
			v, ok := intValue(fl.val, 1, math.MaxUint32)
			if !ok {
				return app, 0, errAt(fl.key, fl.path, "%s; must be a whole number from 1 to %d", show(fl.val), uint32(math.MaxUint32))
			}
			app.SDKAppID = uint32(v)
		case "secret_key":
			app.SecretKey, err = stringValue(fl)
		case "old_secret_key":
			if app.OldSecretKey, err = stringValue(fl); err == nil && app.OldSecretKey == "" {
				err = errAt(fl.key, fl.path, "empty; leave it out when no key is being rotated out")
			}
		case "admins":
			if app.Admins, err = stringList(fl); err == nil {
				// Validate names an admin by its index; its line is the
				// one where the list begins.
				for i := range app.Admins {
					lines[fmt.Sprintf("%s[%d]", fl.name, i)] = fl.key.Line
				}
			}
		case "edition":
			var s string
			s, err = stringValue(fl)
			app.Edition = tally.Edition(s)
		case "rate_limit_per_api":
			app.RateLimitPerAPI, err = limitValue(fl)
		case "rate_limit_per_app":
			app.RateLimitPerApp, err = limitValue(fl)
		case "disabled":
			var b bool
			if b, err = boolValue(fl); err == nil {
				app.Disabled = b
			}
		case "callback_url":
			app.Callback.URL, err = callbackURL(fl)
		case "callback_token":
			if app.Callback.Token, err = stringValue(fl); err == nil && app.Callback.Token == "" {
				err = errAt(fl.key, fl.path, "empty; leave it out to send callbacks unsigned")
			}
		case "callback_events":
			app.Callback.Events, app.Callback.BeforeCreateGroup, err = callbackEvents(fl)
			events = true
		default:
			err = unknownField(fl)
		}
		if err != nil {
			return app, 0, err
		}
	}
	// A token or a list of events without a URL sends nothing, which is
	// more likely a URL forgotten than a wish.
	for _, name := range []string{"callback_token", "callback_events"} {
		if l, ok := lines[name]; ok && app.Callback.URL == "" {
			return app, 0, fmt.Errorf("line %d: %s.callback_url: missing; %s needs it", l, path, name)
		}
	}
	if !events && app.Callback.URL != "" {
		app.Callback.Events = tally.AllEvents
	}
	if err := app.Validate(); err != nil {
		// Point at the line of the setting at fault when the file has it,
		// and at the start of the app when it is missing.
		line := n.Line
		var fe *tally.FieldError
		if errors.As(err, &fe) {
			if l, ok := lines[fe.Field]; ok {
				line = l
			}
		}
		return app, 0, fmt.Errorf("line %d: %s.%v", line, path, err)
	}
	return app, lines["sdkappid"], nil
}

func limitValue(fl field) (int, error) {
	v, ok := intValue(fl.val, 0, math.MaxInt32)
	if !ok {
		return 0, errAt(fl.key, fl.path, "%s; must be a whole number, 0 (unlimited) or more", show(fl.val))
	}
	return int(v), nil
}
