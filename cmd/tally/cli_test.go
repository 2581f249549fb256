package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tallyserver/tally/usersig"
)

func TestUserSigCommand(t *testing.T) {
	needBinary(t)
	tests := []struct {
		name       string
		sdkappid   uint32
		key, id    string
		expireFlag []string
		expire     int64
	}{
		{"default expiry", 1400000001, "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e", "administrator", nil, 180 * 24 * 3600},
		{"one hour", 4294967295, "k", "user-1", []string{"--expire", "3600"}, 3600},
		{"non-ASCII identifier", 1, "key with spaces", "管理员", []string{"--expire=60"}, 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"usersig", "--sdkappid", strconv.FormatUint(uint64(tt.sdkappid), 10), "--key", tt.key, "--identifier", tt.id}, tt.expireFlag...)
			before := time.Now().Unix()
			code, out, errOut := runTally(t, 10*time.Second, args...)
			if code != 0 {
				t.Fatalf("exit code %d; stderr: %s", code, errOut)
			}
			if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
				t.Fatalf("stdout is not one line: %q", out)
			}
			sig := strings.TrimSuffix(out, "\n")
			s, err := usersig.Decode(sig)
			if err != nil {
				t.Fatalf("Decode(%q): %v", sig, err)
			}
			if err := s.Verify(tt.sdkappid, tt.id, tt.key, time.Now()); err != nil {
				t.Fatalf("Verify(%q): %v", sig, err)
			}
			if s.Expire != tt.expire || s.Time < before || s.Time > time.Now().Unix() {
				t.Errorf("TLS.expire %d, TLS.time %d; want expire %d, time in %d..now", s.Expire, s.Time, tt.expire, before)
			}
			if err := s.Verify(tt.sdkappid, tt.id, tt.key+"x", time.Now()); err == nil {
				t.Error("the sig verifies under another key too")
			}
		})
	}
}

func TestCommandLineMistakes(t *testing.T) {
	needBinary(t)
	full := []string{"--sdkappid", "1400000001", "--key", "k", "--identifier", "admin"}
	without := func(flag string) []string {
		var out []string
		for i := 0; i < len(full); i += 2 {
			if full[i] != flag {
				out = append(out, full[i], full[i+1])
			}
		}
		return out
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		stderr   string // a substring the message must have
		stdoutRE string // when set, stdout must match
	}{
		{"no command", nil, 2, "Usage:", ""},
		{"unknown command", []string{"frobnicate"}, 2, `unknown command "frobnicate"`, ""},
		{"usersig without --sdkappid", append([]string{"usersig"}, without("--sdkappid")...), 2, "--sdkappid is required", ""},
		{"usersig without --key", append([]string{"usersig"}, without("--key")...), 2, "--key is required", ""},
		{"usersig without --identifier", append([]string{"usersig"}, without("--identifier")...), 2, "--identifier is required", ""},
		{"usersig sdkappid too big", []string{"usersig", "--sdkappid", "4294967296", "--key", "k", "--identifier", "a"}, 2, "--sdkappid", ""},
		{"usersig sdkappid not a number", []string{"usersig", "--sdkappid", "abc", "--key", "k", "--identifier", "a"}, 2, "sdkappid", ""},
		{"usersig expire 0", append(append([]string{"usersig"}, full...), "--expire", "0"), 2, "--expire 0", ""},
		{"usersig unknown flag", append(append([]string{"usersig"}, full...), "--colour"), 2, "colour", ""},
		{"usersig stray argument", append(append([]string{"usersig"}, full...), "extra"), 2, `unexpected argument "extra"`, ""},
		{"serve bad --listen", []string{"serve", "--listen", "nonsense", "--data", "unused"}, 2, "--listen", ""},
		{"serve stray argument", []string{"serve", "now"}, 2, `unexpected argument "now"`, ""},
		{"serve --watch-config without --config", []string{"serve", "--watch-config", "--data", "unused", "--listen", "127.0.0.1:0"}, 2, "--watch-config needs --config", ""},
		{"serve unknown --log-format", []string{"serve", "--log-format", "xml", "--data", "unused", "--listen", "127.0.0.1:0"}, 2, `log format "xml": must be text or json`, ""},
		{"version", []string{"version"}, 0, "", `^tally \S+\n$`},
		{"--version", []string{"--version"}, 0, "", `^tally \S+\n$`},
		{"help", []string{"help"}, 0, "", `(?s)Usage:.*tally serve.*tally backup.*tally restore.*tally usersig.*tally version`},
		{"usersig --help", []string{"usersig", "--help"}, 0, "-identifier", `^$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runTally(t, 10*time.Second, tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr does not mention %q:\n%s", tt.stderr, errOut)
			}
			if tt.stdoutRE != "" && !regexp.MustCompile(tt.stdoutRE).MatchString(out) {
				t.Errorf("stdout %q does not match %s", out, tt.stdoutRE)
			}
			if tt.code != 0 && out != "" {
				t.Errorf("a failing command printed to stdout: %q", out)
			}
		})
	}
}
