package jsonstr

import (
	"encoding/json"
	"testing"
)

// TestAppend checks that what Append writes decodes back to the string,
// with invalid UTF-8 as U+FFFD, as encoding/json reads it.
func TestAppend(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\`, "nl\n\r\t\x00\x1f", "é😀", "bad\xffutf8", "<&>"} {
		b := Append(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("Append(%q) = %s: %v", s, b, err)
		}
		want := s
		if s == "bad\xffutf8" {
			want = "bad\uFFFDutf8"
		}
		if got != want {
			t.Errorf("Append(%q) = %s, which decodes to %q", s, b, got)
		}
	}
}
