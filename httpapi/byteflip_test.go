package httpapi_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tallyserver/tally/httpapi"
)

// TestByteFlips breaks valid requests, with real UserSigs, a few bytes at a
// time anywhere in the request line, the query, the UserSig, the headers
// or the body, and sends each over its own connection. Every connection
// must get an answer, since each sends some bytes of a request; every
// answer must be HTTP 200 with a well-formed envelope (but for one to a
// HEAD, which HTTP says has no body); and when no answer on the connection
// is a success the store must be as it was. A broken request may hold
// more than one, as when a shortened Content-Length leaves part of the
// body to be read as the next request; all of their answers are checked.
//
// The mutations are seeded, so a failure names the seed and iteration that
// reproduce it; TALLY_BYTEFLIP_SEED picks another seed and
// TALLY_BYTEFLIP_N another count.
func TestByteFlips(t *testing.T) { forFronts(t, testByteFlips) }

func testByteFlips(t *testing.T, f front) {
	t.Parallel()
	seed := uint64(20240611)
	if s := os.Getenv("TALLY_BYTEFLIP_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	n := 3000
	if s := os.Getenv("TALLY_BYTEFLIP_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	// Answers stop counting after this long, so that a slow machine
	// (or -race) runs fewer mutations rather than taking longer.
	budget := 5 * time.Second
	if testing.Short() {
		budget = 2 * time.Second
	}

	h := newHardenedHarness(t, f, httpapi.Limits{})
	h.createGroup(t, appMain, "Public", "g")
	h.setCounters(t, appMain, "g", counter{"a", 1}, counter{"b", 2})
	q := query(appMain, "admin")
	valid := [][]byte{
		rawRequest(h.addr(), "POST", "update_group_counter", q, `{"GroupId":"g","Mode":"Set","GroupCounter":[{"Key":"a","Value":5}]}`),
		rawRequest(h.addr(), "POST", "update_group_counter", q, `{"GroupId":"g","Mode":"Increase","GroupCounter":[{"Key":"b","Value":3},{"Key":"c","Value":1}]}`),
		rawRequest(h.addr(), "POST", "get_group_counter", q, `{"GroupId":"g","GroupCounterKeys":["a","b"]}`),
		rawRequest(h.addr(), "POST", "delete_group_counter", q, `{"GroupId":"g","GroupCounterKeys":["c"]}`),
		rawRequest(h.addr(), "POST", "create_group", q, `{"Type":"Public","Name":"n","GroupId":"h"}`),
	}
	// Every valid request must succeed unbroken, or the test would prove
	// nothing about the broken ones; create_group of an existing id fails
	// by design, so it runs once first.
	for _, raw := range valid[:4] {
		answers, err := exchange(h.addr(), raw)
		if err != nil || len(answers) != 1 {
			t.Fatalf("valid request: %d answers, %v", len(answers), err)
		}
		m, err := checkAnswer(answers[0])
		if err != nil {
			t.Fatal(err)
		}
		wantOK(t, m)
	}

	rng := rand.New(rand.NewPCG(seed, 0))
	before := h.snapshot(t)
	start := time.Now()
	var sent, failed, succeeded int
	for i := range n {
		if time.Since(start) > budget {
			break
		}
		base := valid[rng.IntN(len(valid))]
		raw := mutate(rng, base)
		answers, err := exchange(h.addr(), raw, requestMethods(raw)...)
		sent++
		if err != nil {
			t.Fatalf("seed %d iteration %d: %v\nsent %q", seed, i, err, raw)
		}
		if len(answers) == 0 {
			t.Fatalf("seed %d iteration %d: the connection closed without an answer\nsent %q", seed, i, raw)
		}
		ok := false
		for _, a := range answers {
			if a.resp.Request.Method == "HEAD" {
				if a.resp.StatusCode != 200 {
					t.Fatalf("seed %d iteration %d: HEAD answered %d", seed, i, a.resp.StatusCode)
				}
				continue
			}
			m, err := checkAnswer(a)
			if err != nil {
				t.Fatalf("seed %d iteration %d: %v\nsent %q", seed, i, err, raw)
			}
			ok = ok || code(m) == 0
		}
		after := h.snapshot(t)
		if ok {
			succeeded++
			before = after
			continue
		}
		failed++
		if after != before {
			t.Fatalf("seed %d iteration %d: a failed request changed the store:\n%s\nwas\n%s\nsent %q", seed, i, after, before, raw)
		}
	}
	t.Logf("seed %d: %d broken requests in %v, %d failed and changed nothing, %d still succeeded",
		seed, sent, time.Since(start).Round(time.Millisecond), failed, succeeded)
	if sent < 200 {
		t.Fatalf("only %d requests in the time budget", sent)
	}
}

// mutate breaks raw in one to three places: a flipped bit, a replaced,
// inserted or deleted byte, a deleted or repeated run of bytes. The place
// is picked by part, so that the short request line and headers are hit
// as often as the long query and body.
func mutate(rng *rand.Rand, raw []byte) []byte {
	b := bytes.Clone(raw)
	for range 1 + rng.IntN(3) {
		i := pick(rng, b)
		switch rng.IntN(7) {
		case 0, 1:
			b[i] ^= 1 << rng.IntN(8)
		case 2:
			b[i] = interesting[rng.IntN(len(interesting))]
		case 3:
			b = append(b[:i], append([]byte{interesting[rng.IntN(len(interesting))]}, b[i:]...)...)
		case 4:
			b = append(b[:i], b[i+1:]...)
		case 5:
			j := min(len(b), i+1+rng.IntN(16))
			b = append(b[:i], b[j:]...)
		case 6:
			j := min(len(b), i+1+rng.IntN(16))
			b = append(b[:j], append(bytes.Clone(b[i:j]), b[j:]...)...)
		}
		if len(b) == 0 {
			b = append(b, 'x')
		}
	}
	return b
}

// interesting are bytes that mean something to HTTP, URLs or JSON.
var interesting = []byte(" \r\n\t\x00:;,&=%?/#\"\\{}[]0123456789-+.eE\xff\xc3")

// pick returns an index in b: in the request line, the UserSig, the rest
// of the query, the headers or the body, each as likely.
func pick(rng *rand.Rand, b []byte) int {
	lineEnd := bytes.Index(b, []byte("\r\n"))
	headEnd := bytes.Index(b, []byte("\r\n\r\n"))
	sig := bytes.Index(b, []byte("usersig="))
	if lineEnd < 0 || headEnd < lineEnd || sig < 0 || sig > lineEnd {
		return rng.IntN(len(b)) // already broken beyond telling the parts apart
	}
	sigEnd := sig + bytes.IndexAny(b[sig:], "& ")
	var lo, hi int
	switch rng.IntN(5) {
	case 0: // the method, the path and the protocol
		if rng.IntN(2) == 0 {
			lo, hi = 0, bytes.IndexByte(b, '?')
		} else {
			lo, hi = lineEnd-len("HTTP/1.1"), lineEnd+2
		}
	case 1:
		lo, hi = sig, sigEnd
	case 2:
		lo, hi = bytes.IndexByte(b, '?'), lineEnd
	case 3:
		lo, hi = lineEnd, headEnd+4
	case 4:
		lo, hi = headEnd+4, len(b)
	}
	if hi <= lo {
		return rng.IntN(len(b))
	}
	return lo + rng.IntN(hi-lo)
}
