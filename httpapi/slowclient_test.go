package httpapi_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/httpapi"
)

// timeToClose reads c until the server closes it and returns how long
// that took and what it read. It gives up after limit.
func timeToClose(t *testing.T, c net.Conn, start time.Time, limit time.Duration) (time.Duration, []byte) {
	t.Helper()
	c.SetReadDeadline(start.Add(limit))
	b, err := io.ReadAll(c)
	if err != nil && !isReset(err) {
		t.Fatalf("the server did not close the connection within %v (read %q): %v", limit, b, err)
	}
	return time.Since(start), b
}

// trickle writes b one byte every gap until it has all been written or a
// write fails, which is how it learns the server has hung up.
func trickle(c net.Conn, b []byte, gap time.Duration) error {
	for i := range b {
		if _, err := c.Write(b[i : i+1]); err != nil {
			return err
		}
		time.Sleep(gap)
	}
	return nil
}

// TestSlowloris trickles a request's head a byte at a time, as a
// slowloris client does to hold a connection open: the server cuts it off
// once ReadHeaderTimeout has passed since the connection opened, however
// long the head still is. A connection that sends nothing at all is cut
// off the same way.
func TestSlowloris(t *testing.T) { forFronts(t, testSlowloris) }

func testSlowloris(t *testing.T, f front) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	h := newHardenedHarness(t, f, httpapi.Limits{ReadHeaderTimeout: timeout})
	head := []byte("POST " + commandPath("get_appid_group_list") + "?" + query(appMain, "admin").Encode() +
		" HTTP/1.1\r\nHost: x\r\nX-Slow: " + string(make([]byte, 1000)) + "\r\n\r\n{}")

	for _, c := range []struct {
		name   string
		atOnce int // bytes sent before the trickle starts
		send   []byte
	}{
		{"trickled request line", 0, head},
		{"trickled headers", bytes.Index(head, []byte("X-Slow")), head},
		{"silent", 0, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// The clock starts before the dial, so that however late
			// this goroutine runs, the server's clock started later.
			start := time.Now()
			conn, err := net.Dial("tcp", h.addr())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.Write(c.send[:c.atOnce]); err != nil {
				t.Fatal(err)
			}
			go trickle(conn, c.send[c.atOnce:], 20*time.Millisecond)
			took, got := timeToClose(t, conn, start, 5*time.Second)
			if took < timeout-10*time.Millisecond || took > timeout+2*time.Second {
				t.Errorf("cut off after %v, want about %v; read %q", took, timeout, got)
			}
			// net/http hangs up on a head that does not arrive in time
			// without an answer, which HTTP allows: nobody is waiting
			// for one. Only when time runs out in the request line does
			// it answer, taking the part it has for the whole line; the
			// listener makes that an envelope that says what happened.
			if len(got) == 0 {
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(got)), nil)
			if err != nil {
				t.Fatalf("answered %q: %v", got, err)
			}
			b, _ := io.ReadAll(resp.Body)
			m, err := checkAnswer(rawAnswer{resp, b})
			if err != nil {
				t.Fatal(err)
			}
			wantCode(t, m, tally.ErrBadHTTPRequest)
			if info := m["ErrorInfo"].(string); !strings.Contains(info, "did not arrive within 300ms") {
				t.Errorf("ErrorInfo %q does not say the head came too slowly", info)
			}
		})
	}
}

// TestSlowBody sends a head at once and then trickles the body: the read
// of the body fails once ReadTimeout has passed since the request began,
// the handler answers that with an envelope, and nothing changes.
func TestSlowBody(t *testing.T) { forFronts(t, testSlowBody) }

func testSlowBody(t *testing.T, f front) {
	t.Parallel()
	const timeout = 500 * time.Millisecond
	h := newHardenedHarness(t, f, httpapi.Limits{ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: timeout})
	h.createGroup(t, appMain, "Public", "g")
	h.setCounters(t, appMain, "g", counter{"a", 1})
	body := `{"GroupId":"g","Mode":"Increase","GroupCounter":[{"Key":"a","Value":1}]}` + string(make([]byte, 1000))
	raw := rawRequest(h.addr(), "POST", "update_group_counter", query(appMain, "admin"), body)
	headLen := len(raw) - len(body)

	start := time.Now() // before the dial, as in TestSlowloris
	conn, err := net.Dial("tcp", h.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(raw[:headLen]); err != nil {
		t.Fatal(err)
	}
	go trickle(conn, raw[headLen:], 20*time.Millisecond)
	conn.SetReadDeadline(start.Add(5 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	took := time.Since(start)
	m, err := checkAnswer(rawAnswer{resp, b})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, m, tally.ErrBadHTTPRequest)
	if took < timeout-10*time.Millisecond || took > timeout+2*time.Second {
		t.Errorf("answered after %v, want about %v", took, timeout)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Errorf("the connection stays open after a body that timed out")
	}
	wantCounters(t, h.getCounters(t, appMain, "g"), counter{"a", 1})
}

// TestIdleTimeout shows a kept-alive connection closed once it has waited
// IdleTimeout for its next request, and not before.
func TestIdleTimeout(t *testing.T) { forFronts(t, testIdleTimeout) }

func testIdleTimeout(t *testing.T, f front) {
	t.Parallel()
	const timeout = 400 * time.Millisecond
	h := newHardenedHarness(t, f, httpapi.Limits{IdleTimeout: timeout})
	conn, err := net.Dial("tcp", h.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	var start time.Time
	for i := range 2 {
		// The second request, sent when half the idle time has passed,
		// shows that a request restarts the idle clock.
		if i > 0 {
			time.Sleep(timeout / 2)
		}
		// The clock starts before the request, so that the server's,
		// which starts once it has answered, starts later.
		start = time.Now()
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.Close {
			t.Fatalf("request %d: the server closes a kept-alive connection", i)
		}
	}
	conn.SetReadDeadline(start.Add(5 * time.Second))
	_, err = br.ReadByte()
	took := time.Since(start)
	if err == nil || (!errors.Is(err, io.EOF) && !isReset(err)) {
		t.Fatalf("reading an idle connection: %v", err)
	}
	if took < timeout-10*time.Millisecond || took > timeout+2*time.Second {
		t.Errorf("closed after %v idle, want about %v", took, timeout)
	}
}

// TestIdleAndSlowClientsDoNotStarve holds 2,000 idle kept-alive
// connections and 100 slowloris ones, which reconnect whenever they are
// cut off, while a well-behaved client makes calls: each of its calls must
// be answered promptly. The server caps no connections (see
// NewHTTPServer), so there is no slot for the idle ones to fill.
func TestIdleAndSlowClientsDoNotStarve(t *testing.T) { forFronts(t, testIdleAndSlowClientsDoNotStarve) }

func testIdleAndSlowClientsDoNotStarve(t *testing.T, f front) {
	if testing.Short() {
		t.Skip("opens 2,100 connections")
	}
	const idle, slow = 2000, 100
	// Both ends of every connection are in this process, beside the
	// store's files and the runtime's own.
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Skipf("cannot read the open-file limit: %v", err)
	}
	if need := uint64(2*(idle+slow) + 500); rl.Cur < need {
		t.Skipf("the open-file limit is %d; this test needs %d (raise it with ulimit -n)", rl.Cur, need)
	}
	h := newHardenedHarness(t, f, httpapi.Limits{ReadHeaderTimeout: 500 * time.Millisecond, IdleTimeout: time.Minute})
	h.createGroup(t, appMain, "Public", "g")

	// Open the idle connections, each after one request, a few at a time.
	conns := make([]net.Conn, idle)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, idle)
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < idle; i += 16 {
				c, err := net.Dial("tcp", h.addr())
				if err != nil {
					errs <- err
					return
				}
				conns[i] = c
				fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					errs <- fmt.Errorf("idle connection %d: %v", i, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// The slowloris clients trickle heads until the test ends.
	stop := make(chan struct{})
	var cutOff sync.WaitGroup
	var mu sync.Mutex
	reconnects := 0
	for range slow {
		cutOff.Go(func() {
			head := []byte("POST /v4/group_open_http_svc/get_group_counter HTTP/1.1\r\nHost: x\r\nX-Slow: " + string(make([]byte, 10000)))
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.Dial("tcp", h.addr())
				if err != nil {
					return
				}
				for i := 0; i < len(head); i++ {
					if _, err := c.Write(head[i : i+1]); err != nil {
						break
					}
					select {
					case <-stop:
						c.Close()
						return
					case <-time.After(50 * time.Millisecond):
					}
				}
				c.Close()
				mu.Lock()
				reconnects++
				mu.Unlock()
			}
		})
	}
	defer func() {
		close(stop)
		cutOff.Wait()
	}()

	// The well-behaved client: every other call on a kept-alive
	// connection, through net/http's client as any caller would, and the
	// rest each on a new connection, which a server out of connection
	// slots would not accept.
	const body = `{"GroupId":"g","Mode":"Increase","GroupCounter":[{"Key":"n","Value":1}]}`
	fresh := rawRequest(h.addr(), "POST", "update_group_counter", query(appMain, "admin"), body)
	var worst time.Duration
	deadline := time.Now().Add(2 * time.Second) // long enough for the slowloris clients to be cut off and return
	calls := 0
	for time.Now().Before(deadline) || calls < 20 {
		start := time.Now()
		if calls%2 == 0 {
			wantOK(t, h.api(t, appMain, "update_group_counter", body))
		} else {
			answers, err := exchange(h.addr(), fresh)
			if err != nil || len(answers) != 1 {
				t.Fatalf("a call on a new connection: %d answers, %v", len(answers), err)
			}
			m, err := checkAnswer(answers[0])
			if err != nil {
				t.Fatal(err)
			}
			wantOK(t, m)
		}
		worst = max(worst, time.Since(start))
		calls++
		time.Sleep(20 * time.Millisecond)
	}
	wantCounters(t, h.getCounters(t, appMain, "g"), counter{"n", int64(calls)})
	mu.Lock()
	t.Logf("%d calls beside %d idle and %d slowloris connections (cut off and reopened %d times): the slowest took %v",
		calls, idle, slow, reconnects, worst)
	mu.Unlock()
	if worst > 2*time.Second {
		t.Errorf("a call took %v", worst)
	}
	if reconnects == 0 {
		t.Errorf("no slowloris connection was cut off")
	}
}
