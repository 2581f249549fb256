package config

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tallyserver/tally"
)

// app returns an app with the defaults and the given id, secret and admins.
func app(id uint32, secret string, admins ...string) tally.App {
	return tally.App{
		SDKAppID:        id,
		SecretKey:       secret,
		Admins:          admins,
		Edition:         tally.DefaultEdition,
		RateLimitPerAPI: tally.DefaultRateLimitPerAPI,
		RateLimitPerApp: tally.DefaultRateLimitPerApp,
	}
}

const fullYAML = `# Tally
listen: "0.0.0.0:9000"
data: /var/lib/tally
apps:
  - sdkappid: 1400000001
    secret_key: "s1"
    admins: ["administrator", "ops"]
    edition: pro
    rate_limit_per_api: 50
    rate_limit_per_app: 500
    disabled: true
  - sdkappid: 1400000002
    secret_key: s2
    admins:
      - administrator
`

const fullJSON = `{
  "listen": "0.0.0.0:9000",
  "data": "/var/lib/tally",
  "apps": [
    {"sdkappid": 1400000001, "secret_key": "s1", "admins": ["administrator", "ops"],
     "edition": "pro", "rate_limit_per_api": 50, "rate_limit_per_app": 500, "disabled": true},
    {"sdkappid": 1400000002, "secret_key": "s2", "admins": ["administrator"]}
  ]
}`

var full = &File{
	Listen: "0.0.0.0:9000",
	Data:   "/var/lib/tally",
	Apps: []tally.App{
		{
			SDKAppID:        1400000001,
			SecretKey:       "s1",
			Admins:          []string{"administrator", "ops"},
			Edition:         tally.EditionPro,
			RateLimitPerAPI: 50,
			RateLimitPerApp: 500,
			Disabled:        true,
		},
		app(1400000002, "s2", "administrator"),
	},
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *File
	}{
		{"yaml", fullYAML, full},
		{"json", fullJSON, full},
		{"json with tabs", strings.ReplaceAll(fullJSON, "  ", "\t"), full},
		{"json with a tab before it", "\t\n\t" + strings.ReplaceAll(fullJSON, "  ", "\t"), full},
		{"json with crlf and bom", "\ufeff" + strings.ReplaceAll(strings.ReplaceAll(fullJSON, "  ", "\t"), "\n", "\r\n"), full},
		{"empty", "", &File{}},
		{"blank lines", "\n\n  \n", &File{}},
		{"comments only", "# nothing yet\n  # really\n", &File{}},
		{"empty document", "---\n", &File{}},
		{"empty json", "{}", &File{}},
		{"no apps", "apps: []\n", &File{Apps: []tally.App{}}},
		{"server settings only", "listen: \":8080\"\ndata: ./d\n", &File{Listen: ":8080", Data: "./d"}},
		{"ipv6 listen", "listen: \"[::1]:8080\"\n", &File{Listen: "[::1]:8080"}},
		{
			"store on several hosts",
			"store: \"postgres://tally@db1.example.com,db2.example.com/tally?target_session_attrs=read-write\"\n",
			&File{Store: "postgres://tally@db1.example.com,db2.example.com/tally?target_session_attrs=read-write"},
		},
		{"store postgresql", "store: postgresql://u:p@h/db\n", &File{Store: "postgresql://u:p@h/db"}},
		{"defaults", "apps:\n- sdkappid: 1\n  secret_key: k\n  admins: [a]\n", &File{Apps: []tally.App{app(1, "k", "a")}}},
		{
			"explicit zeros kept",
			"apps:\n- {sdkappid: 1, secret_key: k, admins: [a], rate_limit_per_api: 0, rate_limit_per_app: 0, disabled: false}\n",
			&File{Apps: []tally.App{func() tally.App { a := app(1, "k", "a"); a.RateLimitPerAPI = 0; return a }()}},
		},
		{
			"largest sdkappid, other integer spellings",
			"apps:\n- {sdkappid: 4294967295, secret_key: k, admins: [a], rate_limit_per_api: 0x10, rate_limit_per_app: 1_000}\n",
			&File{Apps: []tally.App{func() tally.App {
				a := app(4294967295, "k", "a")
				a.RateLimitPerAPI, a.RateLimitPerApp = 16, 1000
				return a
			}()}},
		},
		{
			"unquoted secret keeps its text",
			"apps:\n- {sdkappid: 1, secret_key: 0123e4, admins: [007, true]}\n",
			&File{Apps: []tally.App{app(1, "0123e4", "007", "true")}},
		},
		{
			"anchors and merge keys",
			`apps:
  - &base
    sdkappid: 1
    secret_key: k
    admins: &admins [a, b]
    edition: standard
  - <<: *base
    sdkappid: 2
  - <<: [{edition: pro}, *base]
    sdkappid: 3
    admins: *admins
    secret_key: k3
`,
			&File{Apps: []tally.App{
				func() tally.App { a := app(1, "k", "a", "b"); a.Edition = tally.EditionStandard; return a }(),
				func() tally.App { a := app(2, "k", "a", "b"); a.Edition = tally.EditionStandard; return a }(),
				func() tally.App { a := app(3, "k3", "a", "b"); a.Edition = tally.EditionPro; return a }(),
			}},
		},
		{
			"server settings of operations",
			"tls_cert: c.pem\ntls_key: k.pem\nlog_format: json\nlog_level: warn\nhttp_front: fasthttp\n",
			&File{TLSCert: "c.pem", TLSKey: "k.pem", LogFormat: "json", LogLevel: "warn", HTTPFront: "fasthttp"},
		},
		{
			"a key being rotated out",
			"apps:\n- {sdkappid: 1, secret_key: new, old_secret_key: old, admins: [a]}\n",
			&File{Apps: []tally.App{func() tally.App { a := app(1, "new", "a"); a.OldSecretKey = "old"; return a }()}},
		},
		{
			"merge key cycle",
			"apps:\n- &a {<<: *a, sdkappid: 1, secret_key: k, admins: [a]}\n",
			&File{Apps: []tally.App{app(1, "k", "a")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	// ok is an app that passes, to be completed or spoilt by each case.
	const ok = "apps:\n- sdkappid: 1400000001\n  secret_key: k\n  admins: [a]\n"
	tests := []struct {
		name string
		in   string
		want string // a part of the message
	}{
		{"unknown top key", "listen: \":1\"\nsecret: x\n", `line 2: unknown field "secret"`},
		{"unknown app key", ok + "  secret: x\n", `line 5: apps[0]: unknown field "secret"`},
		{"unknown key in merged mapping", "apps:\n- <<: {secrte_key: k}\n  sdkappid: 1\n", `line 2: apps[0]: unknown field "secrte_key"`},
		{"key twice", ok + "  secret_key: k2\n", "line 5: apps[0].secret_key: given twice (also line 3)"},
		{"top key twice", "data: a\ndata: b\n", "line 2: data: given twice (also line 1)"},
		{"non-string key", "? [a]\n: 1\n", "line 1: a key must be a name"},
		{"missing secret_key", ok + "- sdkappid: 2\n  admins: [a]\n", "line 5: apps[1].secret_key: required"},
		{"missing sdkappid", "apps:\n- secret_key: k\n  admins: [a]\n", "line 2: apps[0].sdkappid: required"},
		{"missing admins", "apps:\n- sdkappid: 1\n  secret_key: k\n", "apps[0].admins: 0 given"},
		{"no admins", "apps:\n- {sdkappid: 1, secret_key: k, admins: []}\n", "line 2: apps[0].admins: 0 given"},
		{"eleven admins", "apps:\n- {sdkappid: 1, secret_key: k, admins: [a,b,c,d,e,f,g,h,i,j,k]}\n", "apps[0].admins: 11 given"},
		{"empty admin", "apps:\n- sdkappid: 1\n  secret_key: k\n  admins:\n  - a\n  - ''\n", "line 4: apps[0].admins[1]: empty identifier"},
		{"admins a string", ok + "- {sdkappid: 2, secret_key: k, admins: x}\n", "line 5: apps[1].admins: x; must be a list"},
		{"admin a list", "apps:\n- sdkappid: 1\n  secret_key: k\n  admins:\n  - a\n  - [b]\n", "line 6: apps[0].admins[1]: a list; must be a string"},
		{"admin null", "apps:\n- {sdkappid: 1, secret_key: k, admins: [a, ~]}\n", "apps[0].admins[1]: no value; must be a string"},
		{"bad edition", ok + "  edition: gold\n", `line 5: apps[0].edition: "gold"; must be one of`},
		{"edition a number", ok + "  edition: 3\n", `apps[0].edition: "3"; must be one of`},
		{"edition a list", ok + "  edition: [pro]\n", "apps[0].edition: a list; must be a string"},
		{"sdkappid a word", "apps:\n- sdkappid: abc\n", "line 2: apps[0].sdkappid: abc; must be a whole number from 1 to 4294967295"},
		{"sdkappid quoted", "apps:\n- sdkappid: \"1400000001\"\n", `apps[0].sdkappid: "1400000001"; must be a whole number`},
		{"sdkappid negative", "apps:\n- sdkappid: -1\n", "apps[0].sdkappid: -1; must be"},
		{"sdkappid zero", "apps:\n- sdkappid: 0\n", "apps[0].sdkappid: 0; must be"},
		{"sdkappid overflows uint32", "apps:\n- sdkappid: 5000000000\n", "apps[0].sdkappid: 5000000000; must be"},
		{"sdkappid overflows int64", "apps:\n- sdkappid: 99999999999999999999\n", "apps[0].sdkappid: 99999999999999999999; must be"},
		{"sdkappid a float", "apps:\n- sdkappid: 1.5\n", "apps[0].sdkappid: 1.5; must be"},
		{"sdkappid null", "apps:\n- sdkappid:\n", "apps[0].sdkappid: no value; must be"},
		{"rate limit a float", ok + "  rate_limit_per_api: 1.5\n", "line 5: apps[0].rate_limit_per_api: 1.5; must be a whole number, 0 (unlimited) or more"},
		{"rate limit in e notation", ok + "  rate_limit_per_api: 1e3\n", "apps[0].rate_limit_per_api: 1e3; must be"},
		{"rate limit negative", ok + "  rate_limit_per_app: -1\n", "apps[0].rate_limit_per_app: -1; must be"},
		{"rate limit quoted", ok + "  rate_limit_per_app: '5'\n", `apps[0].rate_limit_per_app: "5"; must be`},
		{"rate limit huge", ok + "  rate_limit_per_app: 9223372036854775807\n", "apps[0].rate_limit_per_app: 9223372036854775807; must be"},
		{"rate limit null", ok + "  rate_limit_per_api: null\n", "apps[0].rate_limit_per_api: no value; must be"},
		{"disabled yes", ok + "  disabled: yes\n", "line 5: apps[0].disabled: yes; must be true or false"},
		{"disabled a number", ok + "  disabled: 1\n", "apps[0].disabled: 1; must be true or false"},
		{"duplicate sdkappid", ok + "- {sdkappid: 2, secret_key: k, admins: [a]}\n- {sdkappid: 1400000001, secret_key: k, admins: [a]}\n",
			"line 6: apps[2].sdkappid: 1400000001 is also apps[0]"},
		{"listen without port", "listen: localhost\n", `line 1: listen: "localhost" is not a host:port`},
		{"listen a number", "listen: 8080\n", `listen: "8080" is not a host:port`},
		{"listen null", "listen:\n", "listen: no value; must be a string"},
		{"data empty", "data: \"\"\n", "line 1: data: empty"},
		{"data a mapping", "data: {a: 1}\n", "data: a mapping; must be a string"},
		{"store of another database", "data: d\nstore: mysql://u:p@h/db\n", `line 2: store: a "mysql" URL; must be a postgres:// or postgresql:// URL`},
		{"store in capitals", "store: POSTGRES://h/db\n", `line 1: store: a "POSTGRES" URL; must be`},
		{"store not a URL", "store: h/db\n", "line 1: store: not a URL; must be"},
		{"store empty", "store: ''\n", "line 1: store: empty; leave it out for the embedded store in data"},
		{"store null", "store:\n", "line 1: store: no value; must be a string"},
		{"store a list", "store: [postgres://h/db]\n", "line 1: store: a list; must be a string"},
		{"apps a mapping", "apps: {sdkappid: 1}\n", "line 1: apps: a mapping; must be a list"},
		{"apps null", "apps:\n", "apps: no value; must be a list"},
		{"app a number", "apps: [5]\n", "line 1: apps[0]: must be a mapping"},
		{"merge of a scalar", "apps:\n- <<: 5\n", "line 2: apps[0]: << must merge a mapping"},
		{"top level a list", "- a\n", "line 1: the file must be a mapping"},
		{"top level a string", "hello\n", "the file must be a mapping"},
		{"two documents", "data: a\n---\ndata: b\n", "line 2: a second document"},
		{"trailing empty document", "data: a\n---\n", "line 2: a second document"},
		{"syntax error", "apps:\n  - a: 1\n b: 2\n", "did not find expected key"},
		{"tab indentation", "apps:\n\t- sdkappid: 1\n", "found character that cannot start any token"},
		{"tls_cert without tls_key", "tls_cert: c.pem\n", "line 1: tls_key: missing; tls_cert needs its private key"},
		{"tls_key without tls_cert", "data: d\ntls_key: k.pem\n", "line 2: tls_cert: missing; tls_key needs its certificate"},
		{"tls_cert empty", "tls_cert: ''\ntls_key: k.pem\n", "line 1: tls_cert: empty; give a PEM file"},
		{"log_format unknown", "log_format: logfmt\n", "line 1: log_format: logfmt; must be one of text, json"},
		{"http_front unknown", "http_front: fast\n", "line 1: http_front: fast; must be one of nethttp, fasthttp"},
		{"log_level unknown", "log_level: verbose\n", "line 1: log_level: verbose; must be one of debug, info, warn, error"},
		{"log_level a list", "log_level: [info]\n", "log_level: a list; must be a string"},
		{"old key same as new", ok + "  old_secret_key: k\n", "line 5: apps[0].old_secret_key: the same as secret_key"},
		{"old key empty", ok + "  old_secret_key: ''\n", "line 5: apps[0].old_secret_key: empty; leave it out"},
		{"json unknown key", `{"apps": [{"sdkappid": 1, "secretkey": "k"}]}`, `line 1: apps[0]: unknown field "secretkey"`},
		{"json sdkappid string", "{\n\t\"apps\": [\n\t\t{\"sdkappid\": \"abc\"}\n\t]\n}", `line 3: apps[0].sdkappid: "abc"; must be`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse = %+v, want an error containing %q", f, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error %q, want it to contain %q", err, tt.want)
			}
			if strings.HasPrefix(err.Error(), "yaml: ") {
				t.Errorf("Parse error %q starts with \"yaml: \"", err)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tally.yaml")
	if err := os.WriteFile(path, []byte(fullYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if string(got.Source) != fullYAML {
		t.Errorf("Load's Source = %q, want the file's contents", got.Source)
	}
	got.Source = nil
	if !reflect.DeepEqual(got, full) {
		t.Errorf("Load = %+v\nwant %+v", got, full)
	}

	if err := os.WriteFile(path, []byte("apps:\n- sdkappid: 1\n  admins: [a]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if want := "config " + path + ": line 2: apps[0].secret_key: required"; err == nil || err.Error() != want {
		t.Errorf("Load error %v, want %s", err, want)
	}

	missing := filepath.Join(dir, "none.yaml")
	_, err = Load(missing)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want fs.ErrNotExist", err)
	}
	if err != nil && strings.Count(err.Error(), missing) != 1 {
		t.Errorf("Load error %q should name the path once", err)
	}
}

// FuzzParse checks that Parse never panics, and that what it accepts is what
// it promises: apps that pass Validate with distinct ids, a listen address
// that splits into host and port, and no empty data directory named.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		fullYAML, fullJSON, strings.ReplaceAll(fullJSON, "  ", "\t"), "", "---\n", "# c\n",
		"apps:\n- &a {<<: *a, sdkappid: 1, secret_key: k, admins: [a]}\n",
		"apps:\n- sdkappid: 5000000000\n", "apps: [*x]\n", "a: &a [*a]\n",
		"store: postgres://u:p@h1,h2/db?target_session_attrs=read-write\n", "store: x:y@h://db\n",
		"nats_url: nats://u:p@h1:4222,tls://h2\n",
		"tls_cert: c\ntls_key: k\nlog_format: json\nlog_level: warn\napps:\n- {sdkappid: 1, secret_key: k, old_secret_key: o, admins: [a]}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		if file.Listen != "" {
			if _, _, err := net.SplitHostPort(file.Listen); err != nil {
				t.Errorf("listen %q accepted: %v", file.Listen, err)
			}
		}
		seen := make(map[uint32]bool)
		for i, a := range file.Apps {
			if err := a.Validate(); err != nil {
				t.Errorf("apps[%d] accepted but invalid: %v", i, err)
			}
			if seen[a.SDKAppID] {
				t.Errorf("apps[%d]: sdkappid %d accepted twice", i, a.SDKAppID)
			}
			seen[a.SDKAppID] = true
		}
		if file.NATS != "" && CheckNATS(file.NATS) != nil {
			t.Errorf("nats_url %q accepted: %v", file.NATS, CheckNATS(file.NATS))
		}
		if file.Store != "" && CheckStore(file.Store) != nil {
			t.Errorf("store %q accepted: %v", file.Store, CheckStore(file.Store))
		}
		if (file.TLSCert == "") != (file.TLSKey == "") {
			t.Errorf("half a TLS pair accepted: cert %q, key %q", file.TLSCert, file.TLSKey)
		}
		if file.LogFormat != "" && !slices.Contains(LogFormats, file.LogFormat) ||
			file.LogLevel != "" && !slices.Contains(LogLevels, file.LogLevel) {
			t.Errorf("log_format %q, log_level %q accepted", file.LogFormat, file.LogLevel)
		}
	})
}
