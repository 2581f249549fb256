package chromiumtest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tallyserver/tally/internal/chromiumtest"
)

// TestEval opens a page and reads what its script wrote, and shows that an
// exception in an expression is an error.
func TestEval(t *testing.T) {
	b := chromiumtest.Start(t)
	b.Navigate(`data:text/html,<p id="x">waiting</p><script>setTimeout(() => document.getElementById("x").textContent = "ran", 100)</script>`)
	b.Poll("the page's script ran", `document.getElementById("x")?.textContent ?? null`, 10*time.Second,
		func(s string) bool { return s == "ran" })
	if _, err := b.Eval(`no.such.thing`); err == nil || !strings.Contains(err.Error(), "no is not defined") {
		t.Errorf("an expression that throws gave error %v", err)
	}
}
