// Package config reads Tally's config file.
//
// The file is YAML, so JSON works too:
//
//	listen: "127.0.0.1:8080"      # default
//	data: "./tally-data"          # default
//	tls_cert: "/etc/tally/cert.pem" # with tls_key, serve HTTPS; default plain HTTP
//	tls_key: "/etc/tally/key.pem"
//	log_format: "text"            # default; or "json"
//	log_level: "info"             # default; or "debug", "warn", "error"
//	apps:
//	  - sdkappid: 1400000001
//	    secret_key: "…"           # required
//	    old_secret_key: "…"       # optional: a key being rotated out
//	    admins: ["administrator"] # required, 1 to 10 identifiers
//	    edition: "ultimate"       # default
//	    rate_limit_per_api: 200   # default; 0 = unlimited
//	    rate_limit_per_app: 0     # default
//	    disabled: false           # default
//
// A server that starts with a wrong secret or a misspelt limit fails in ways
// that are hard to trace back to the file, so the file is read strictly:
// unknown keys, values of the wrong type, a key given twice, a value left
// empty and a second document are all refused, with a message that names the
// line and the setting (for example "line 7: apps[1].edition: ...").
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

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
	// TLSCert and TLSKey are the PEM files of the certificate (with its
	// chain) and its private key; the file gives both or neither. With
	// them the server speaks HTTPS only, as Tencent's API does.
	TLSCert, TLSKey string
	// LogFormat is "text" or "json", and LogLevel one of "debug", "info",
	// "warn" and "error"; "" when the file does not say.
	LogFormat, LogLevel string
	// Apps are the apps in file order. Each has its defaults applied and
	// passes Validate, and no two share an SDKAppID. There may be none: what
	// a server does without apps is for the caller to decide.
	Apps []tally.App
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
	return f, nil
}

// Parse parses the contents of a config file. An empty file, or one of
// comments only, is valid and has no apps.
func Parse(data []byte) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(untabJSON(data)))
	var doc yaml.Node
	if err := dec.Decode(&doc); err == io.EOF {
		return &File{}, nil
	} else if err != nil {
		return nil, yamlError(err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		if err != nil {
			return nil, yamlError(err)
		}
		return nil, fmt.Errorf("line %d: a second document; a config file holds one", next.Line)
	}
	if len(doc.Content) != 1 {
		return &File{}, nil
	}
	root := resolve(doc.Content[0])
	if root.ShortTag() == "!!null" {
		return &File{}, nil // a lone "---"
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

// The values log_format and log_level accept.
var (
	LogFormats = []string{"text", "json"}
	LogLevels  = []string{"debug", "info", "warn", "error"}
)

// oneOf returns a string setting that must be one of choices.
func oneOf(fl field, choices []string) (string, error) {
	v, err := stringValue(fl)
	if err != nil {
		return "", err
	}
	if !slices.Contains(choices, v) {
		return "", errAt(fl.key, fl.path, "%s; must be one of %s", show(fl.val), strings.Join(choices, ", "))
	}
	return v, nil
}

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
		default:
			err = unknownField(fl)
		}
		if err != nil {
			return app, 0, err
		}
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

// A field is one key and value of a mapping, with the path that names it in
// messages (for example "apps[0].admins").
type field struct {
	name     string
	path     string
	key, val *yaml.Node
}

// mappingFields returns the entries of mapping m in file order. It refuses a
// key given twice, and resolves merge keys ("<<: *base") as YAML defines
// them: keys written in m win over merged ones, and an earlier merged
// mapping wins over a later one.
func mappingFields(m *yaml.Node, path string) ([]field, error) {
	var fields []field
	seen := make(map[string]bool)
	done := make(map[*yaml.Node]bool) // each mapping is merged once, which also ends cycles
	var add func(m *yaml.Node) error
	add = func(m *yaml.Node) error {
		if done[m] {
			return nil
		}
		done[m] = true
		lines := make(map[string]int) // keys of m alone -> line
		var merges []*yaml.Node
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := resolve(m.Content[i]), m.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return errAt(k, path, "a key must be a name, not a %s", kindName(k))
			}
			if k.ShortTag() == "!!merge" {
				merges = append(merges, v)
				continue
			}
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if line, dup := lines[k.Value]; dup {
				return errAt(k, p, "given twice (also line %d)", line)
			}
			lines[k.Value] = k.Line
			if !seen[k.Value] {
				seen[k.Value] = true
				fields = append(fields, field{name: k.Value, path: p, key: k, val: v})
			}
		}
		for _, v := range merges {
			v = resolve(v)
			list := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				list = v.Content
			}
			for _, src := range list {
				src = resolve(src)
				if src.Kind != yaml.MappingNode {
					return errAt(src, path, "<< must merge a mapping or a list of mappings, not a %s", kindName(src))
				}
				if err := add(src); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := add(m); err != nil {
		return nil, err
	}
	return fields, nil
}

// resolve follows aliases ("*name") to the node they stand for.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// stringValue returns the text of a scalar. Unquoted numbers and booleans
// count as strings and keep their text exactly as written, so that a secret
// key of digits needs no quotes; an empty value ("key:" or null) is refused,
// since it is more likely a mistake than a wish for the default.
func stringValue(fl field) (string, error) {
	n := resolve(fl.val)
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str", "!!int", "!!float", "!!bool", "!!timestamp":
			return n.Value, nil
		}
	}
	return "", errAt(fl.key, fl.path, "%s; must be a string", show(n))
}

func stringList(fl field) ([]string, error) {
	seq, err := sequence(fl)
	if err != nil {
		return nil, err
	}
	list := make([]string, len(seq.Content))
	for i, n := range seq.Content {
		e := field{path: fmt.Sprintf("%s[%d]", fl.path, i), key: n, val: n}
		if list[i], err = stringValue(e); err != nil {
			return nil, err
		}
	}
	return list, nil
}

func sequence(fl field) (*yaml.Node, error) {
	n := resolve(fl.val)
	if n.Kind != yaml.SequenceNode {
		return nil, errAt(fl.key, fl.path, "%s; must be a list such as [\"a\", \"b\"]", show(n))
	}
	return n, nil
}

func limitValue(fl field) (int, error) {
	v, ok := intValue(fl.val, 0, math.MaxInt32)
	if !ok {
		return 0, errAt(fl.key, fl.path, "%s; must be a whole number, 0 (unlimited) or more", show(fl.val))
	}
	return int(v), nil
}

// intValue returns the value of an integer scalar within min..max. A float
// such as 1.5 or 2e2 is refused, as is a quoted number: YAML reads both as
// something other than an integer, and so would anyone reading the file.
func intValue(n *yaml.Node, min, max int64) (int64, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return 0, false
	}
	var v int64
	if err := n.Decode(&v); err != nil || v < min || v > max {
		return 0, false
	}
	return v, true
}

func boolValue(fl field) (bool, error) {
	n := resolve(fl.val)
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		return false, errAt(fl.key, fl.path, "%s; must be true or false", show(n))
	}
	return b, nil
}

func unknownField(fl field) error {
	parent := strings.TrimSuffix(strings.TrimSuffix(fl.path, fl.name), ".")
	return errAt(fl.key, parent, "unknown field %q", fl.name)
}

// show describes a value for a message: scalars as written (quoted if they
// were), shortened if long, and others by kind.
func show(n *yaml.Node) string {
	n = resolve(n)
	switch {
	case n.Kind != yaml.ScalarNode:
		return "a " + kindName(n)
	case n.ShortTag() == "!!null":
		return "no value"
	}
	s, quoted := n.Value, n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
	if r := []rune(s); len(r) > 40 {
		s, quoted = string(r[:40])+"…", true
	}
	if quoted || strings.ContainsAny(s, "\n\t") {
		return strconv.Quote(s)
	}
	return s
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

// errAt makes an error "line N: path: message".
func errAt(n *yaml.Node, path, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	return fmt.Errorf("line %d: %s", n.Line, msg)
}

// yamlError drops the "yaml: " that yaml.v3 puts before syntax errors; the
// caller's "config <path>: " already says what was being read.
func yamlError(err error) error {
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}

// untabJSON works around yaml.v3 refusing a tab before the first token of a
// document ("found character that cannot start any token"), which a JSON
// file indented with tabs may have. Tabs inside flow collections, where the
// rest of such a file is, are accepted. Only when the document starts with
// "{" or "[" are the tabs before it replaced, by spaces, keeping the lines.
func untabJSON(data []byte) []byte {
	body := bytes.TrimPrefix(data, []byte("\ufeff"))
	rest := bytes.TrimLeft(body, " \t\r\n")
	lead := body[:len(body)-len(rest)]
	if len(rest) == 0 || (rest[0] != '{' && rest[0] != '[') || bytes.IndexByte(lead, '\t') < 0 {
		return data
	}
	out := make([]byte, 0, len(data))
	out = append(out, data[:len(data)-len(body)]...)
	out = append(out, bytes.ReplaceAll(lead, []byte("\t"), []byte(" "))...)
	return append(out, rest...)
}
