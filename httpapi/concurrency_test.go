package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentIncrease sends parallel Increase calls on one key over HTTP:
// no update is lost, and each successful call saw a value no other call saw.
func TestConcurrentIncrease(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createGroup(t, appMain, "Public", "hot")
	q := query(appMain, "admin").Encode()
	const workers, perWorker = 32, 8
	const body = `{"GroupId":"hot","Mode":"Increase","GroupCounter":[{"Key":"n","Value":1},{"Key":"other","Value":2}]}`

	values := make([][]int64, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range perWorker {
				m, err := h.try(http.MethodPost, "update_group_counter", q, strings.NewReader(body))
				if err != nil {
					errs[w] = err
					return
				}
				if code(m) != 0 {
					errs[w] = fmt.Errorf("an Increase failed: %v", m)
					return
				}
				list, _ := m["GroupCounter"].([]any)
				var first map[string]any
				if len(list) == 2 {
					first, _ = list[0].(map[string]any)
				}
				v, _ := first["Value"].(json.Number)
				n, err := v.Int64()
				if first["Key"] != "n" || err != nil {
					errs[w] = fmt.Errorf("an Increase answered %v", m)
					return
				}
				values[w] = append(values[w], n)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	seen := map[int64]bool{}
	for _, vs := range values {
		for _, v := range vs {
			if seen[v] {
				t.Fatalf("two calls answered the value %d", v)
			}
			seen[v] = true
		}
	}
	ok := int64(len(seen))
	// The main app has no rate limit, so every call must succeed.
	if ok != workers*perWorker {
		t.Errorf("%d of %d calls succeeded", ok, workers*perWorker)
	}
	for v := range seen {
		if v < 1 || v > ok {
			t.Errorf("a call answered %d; the values must be 1..%d", v, ok)
		}
	}
	wantCounters(t, h.getCounters(t, appMain, "hot"), counter{"n", ok}, counter{"other", 2 * ok})

	// Decrease brings it back.
	m := h.api(t, appMain, "update_group_counter",
		fmt.Sprintf(`{"GroupId":"hot","Mode":"Decrease","GroupCounter":[{"Key":"n","Value":%d}]}`, ok))
	wantOK(t, m)
	wantCounters(t, counters(t, m), counter{"n", 0})
}
