package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLogFormatAndLevel starts servers with each log format and level and
// reads what a graceful stop logs: every line in the chosen format, and
// none below the chosen level.
func TestLogFormatAndLevel(t *testing.T) {
	needBinary(t)
	tests := []struct {
		name  string
		args  []string
		file  string // config file lines
		lines []string
	}{
		{"text by default", nil, "", []string{`level=INFO msg="shutting down"`, "level=INFO msg=stopped"}},
		{"json from the flag", []string{"--log-format", "json"}, "", []string{`"level":"INFO","msg":"shutting down"`, `"msg":"stopped"`}},
		{"json from the file", nil, "log_format: json\n", []string{`"msg":"shutting down"`, `"msg":"stopped"`}},
		{"warn hides info", []string{"--log-level", "warn"}, "", nil},
		{"the flag overrides the file", []string{"--log-level", "info"}, "log_level: error\n", []string{`msg="shutting down"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeFile(t, filepath.Join(dir, "tally.yaml"), tt.file+testConfig())
			s := startServer(t, append([]string{"serve", "--config", cfg, "--listen", "127.0.0.1:0", "--data", dir}, tt.args...)...)
			s.cmd.Process.Signal(syscall.SIGTERM)
			if code := s.wait(15 * time.Second); code != 0 {
				t.Fatalf("exit code %d after SIGTERM", code)
			}
			log := s.stderr.String()
			for _, want := range tt.lines {
				if !strings.Contains(log, want) {
					t.Errorf("the log does not hold %q:\n%s", want, log)
				}
			}
			if tt.lines == nil && log != "" {
				t.Errorf("the log holds lines below its level:\n%s", log)
			}
			wantJSON := strings.Contains(strings.Join(tt.args, " ")+tt.file, "json")
			for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
				if l != "" && wantJSON != isJSON(l) {
					t.Errorf("line %q: JSON %v, want %v", l, !wantJSON, wantJSON)
				}
			}
		})
	}
	t.Run("unknown format", func(t *testing.T) {
		code, _, stderr := runTally(t, 10*time.Second, "serve", "--log-format", "xml", "--data", t.TempDir(), "--listen", "127.0.0.1:0")
		if code != 2 || !strings.Contains(stderr, `log format "xml": must be text or json`) {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}

func isJSON(line string) bool {
	var m map[string]any
	return json.Unmarshal([]byte(line), &m) == nil
}
