package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestLogFormatAndLevel runs servers with each log format and level and
// reads what a graceful stop logs: every line in the chosen format, and
// none below the chosen level. (That an unknown format is refused is in
// TestCommandLineMistakes.)
func TestLogFormatAndLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		format, level string // as the flags give them
		file          string // config file lines
		lines         []string
	}{
		{"text by default", "", "", "", []string{`level=INFO msg="shutting down"`, "level=INFO msg=stopped"}},
		{"json from the flag", "json", "", "", []string{`"level":"INFO","msg":"shutting down"`, `"msg":"stopped"`}},
		{"json from the file", "", "", "log_format: json\n", []string{`"msg":"shutting down"`, `"msg":"stopped"`}},
		{"warn hides info", "", "warn", "", nil},
		{"the flag overrides the file", "", "info", "log_level: error\n", []string{`msg="shutting down"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMain(t, tt.file+testConfig())
			m.Flags.logFormat, m.Flags.logLevel = tt.format, tt.level
			m.open(t)
			if err := m.close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			log := m.stderr.String()
			for _, want := range tt.lines {
				if !strings.Contains(log, want) {
					t.Errorf("the log does not hold %q:\n%s", want, log)
				}
			}
			if tt.lines == nil && log != "" {
				t.Errorf("the log holds lines below its level:\n%s", log)
			}
			wantJSON := strings.Contains(tt.format+tt.file, "json")
			for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
				if l != "" && wantJSON != isJSON(l) {
					t.Errorf("line %q: JSON %v, want %v", l, !wantJSON, wantJSON)
				}
			}
		})
	}
}

func isJSON(line string) bool {
	var m map[string]any
	return json.Unmarshal([]byte(line), &m) == nil
}
