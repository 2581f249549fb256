// Package chromiumtest drives a headless Chromium for the tests of what
// only a browser shows: it starts Debian's chromium on a throwaway profile
// and speaks just enough of the Chrome DevTools Protocol, over a WebSocket,
// to open a page and evaluate expressions in it. A test that needs it skips
// where chromium is not installed; CI installs it (.ci/run), so that there
// the tests run.
package chromiumtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Binary is the command that runs Chromium, as Debian's package names it.
const Binary = "chromium"

// startTimeout bounds Chromium's start, to its DevTools endpoint and first
// page; it takes a second or two on a busy machine.
const startTimeout = 30 * time.Second

// Browser is a headless Chromium with one page, ended when its test ends.
type Browser struct {
	t      testing.TB
	conn   *websocket.Conn
	stderr *stderrWatch

	mu     sync.Mutex // orders calls, which share the connection
	nextID int64
}

// Start starts Chromium for t, or skips t when chromium is not installed.
// It runs headless without a sandbox, since CI runs as root, and with
// every background service off, so that it makes no request of its own.
// The browser and every process it started are killed when t ends.
func Start(t testing.TB) *Browser {
	t.Helper()
	bin, err := exec.LookPath(Binary)
	if err != nil {
		t.Skipf("needs %s (Debian package chromium; .ci/run installs it): %v", Binary, err)
	}
	cmd := exec.Command(bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--no-default-browser-check",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-dev-shm-usage", "--mute-audio",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-port=0", "about:blank")
	// A group of its own, so that its renderers and helpers end with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	w := &stderrWatch{found: make(chan string, 1)}
	cmd.Stderr = w
	// A helper that outlived the kill would hold stderr's pipe open.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait() // how it ended is of no interest: it is killed
		close(done)
	}()
	b := &Browser{t: t, stderr: w}
	t.Cleanup(func() {
		if b.conn != nil {
			b.conn.CloseNow()
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if t.Failed() {
			t.Logf("chromium's stderr:\n%s", w.String())
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	var browserURL string
	select {
	case browserURL = <-w.found:
	case <-done:
		t.Fatalf("chromium exited before it listened; stderr:\n%s", w.String())
	case <-ctx.Done():
		t.Fatalf("chromium printed no DevTools address within %v; stderr:\n%s", startTimeout, w.String())
	}
	pageURL, err := firstPage(ctx, browserURL)
	if err != nil {
		t.Fatal(err)
	}
	if b.conn, _, err = websocket.Dial(ctx, pageURL, nil); err != nil {
		t.Fatalf("connect to the page's DevTools at %s: %v", pageURL, err)
	}
	// The answers to an evaluation hold what the page returns.
	b.conn.SetReadLimit(16 << 20)
	return b
}

// firstPage returns the DevTools address of the browser's first page,
// which the browser at browserURL lists once it has opened it.
func firstPage(ctx context.Context, browserURL string) (string, error) {
	u, err := url.Parse(browserURL)
	if err != nil {
		return "", fmt.Errorf("the DevTools address %q: %v", browserURL, err)
	}
	list := "http://" + u.Host + "/json/list"
	for {
		var targets []struct {
			Type                 string `json:"type"`
			WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, list, nil)
		if err != nil {
			return "", err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
		}
		for _, tg := range targets {
			if tg.Type == "page" && tg.WebSocketDebuggerURL != "" {
				return tg.WebSocketDebuggerURL, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("chromium lists no page at %s (last error %v)", list, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// call sends one DevTools command to the page and returns its result. The
// events the page sends meanwhile are skipped: no domain that sends them
// is enabled, and none is needed.
func (b *Browser) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nextID++
	id := b.nextID
	msg, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err != nil {
		return nil, err
	}
	if err := b.conn.Write(ctx, websocket.MessageText, msg); err != nil {
		return nil, fmt.Errorf("%s: %v", method, err)
	}
	for {
		_, data, err := b.conn.Read(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", method, err)
		}
		var ans struct {
			ID     int64           `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(data, &ans); err != nil {
			return nil, fmt.Errorf("%s: the answer %.200q: %v", method, data, err)
		}
		if ans.ID != id {
			continue
		}
		if ans.Error != nil {
			return nil, fmt.Errorf("%s: error %d: %s", method, ans.Error.Code, ans.Error.Message)
		}
		return ans.Result, nil
	}
}

// Navigate opens url in the page. It returns once the browser has
// committed to the new document, which may not have run its scripts yet:
// wait for what it shows with Poll.
func (b *Browser) Navigate(url string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := b.call(ctx, "Page.navigate", map[string]any{"url": url})
	if err != nil {
		b.t.Fatal(err)
	}
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := json.Unmarshal(res, &nav); err != nil {
		b.t.Fatalf("Page.navigate: %v", err)
	}
	if nav.ErrorText != "" {
		b.t.Fatalf("Page.navigate to %s: %s", url, nav.ErrorText)
	}
}

// Eval evaluates a JavaScript expression in the page and returns its value
// as JSON; an exception it throws is an error.
func (b *Browser) Eval(expr string) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := b.call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	if err != nil {
		return nil, err
	}
	var ev struct {
		Result struct {
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception *struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &ev); err != nil {
		return nil, fmt.Errorf("decoding the answer of Runtime.evaluate: %v", err)
	}
	if e := ev.ExceptionDetails; e != nil {
		if e.Exception != nil {
			return nil, errors.New(e.Exception.Description)
		}
		return nil, errors.New(e.Text)
	}
	if ev.Result.Type == "undefined" {
		return json.RawMessage("null"), nil
	}
	return ev.Result.Value, nil
}

// Poll evaluates expr, which should give a string or null, until ok holds
// for its value or timeout passes, and returns the value; on timeout it
// fails the test, naming what was awaited (what) and the value last seen.
func (b *Browser) Poll(what, expr string, timeout time.Duration, ok func(string) bool) string {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		raw, err := b.Eval(expr)
		if err != nil {
			last = "exception: " + err.Error()
		} else {
			var s *string
			if json.Unmarshal(raw, &s) != nil {
				last = "not a string: " + string(raw)
			} else if s == nil {
				last = "null"
			} else if last = *s; ok(last) {
				return last
			}
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: not within %v; %s was %q", what, timeout, expr, last)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// stderrWatch keeps what Chromium writes on stderr, up to a bound, and
// hands on the DevTools address once it has been written.
type stderrWatch struct {
	found chan string
	mu    sync.Mutex
	buf   bytes.Buffer
	sent  bool
}

const stderrCap = 64 << 10

// The address counts once its line has ended, so that one written in two
// pieces is not taken for its first.
var devToolsRE = regexp.MustCompile(`DevTools listening on (ws://\S+)\r?\n`)

func (w *stderrWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := stderrCap - w.buf.Len(); room > 0 {
		w.buf.Write(p[:min(len(p), room)])
	}
	if !w.sent {
		if m := devToolsRE.FindSubmatch(w.buf.Bytes()); m != nil {
			w.found <- string(m[1])
			w.sent = true
		}
	}
	return len(p), nil
}

func (w *stderrWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
