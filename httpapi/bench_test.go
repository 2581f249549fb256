package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tallyserver/tally/httpapi"
	"github.com/tallyserver/tally/pebble"
)

// BenchmarkUpdateIncrease measures one Increase call through the whole
// handler on the real store: query parsing, UserSig verification, rate
// limits, body parsing and the durable write. The parallel variant shows
// what group commit makes of concurrent writers on different groups.
func BenchmarkUpdateIncrease(b *testing.B) {
	store, err := pebble.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	srv := httpapi.NewServer(store, testApps, nil)
	url := commandPath("update_group_counter") + "?" + query(appMain, "admin").Encode()
	const groups = 64
	for i := range groups {
		req := httptest.NewRequest(http.MethodPost, commandPath("create_group")+"?"+query(appMain, "admin").Encode(),
			strings.NewReader(fmt.Sprintf(`{"Type":"Public","Name":"n","GroupId":"g%d"}`, i)))
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if !strings.Contains(rec.Body.String(), `"ErrorCode":0`) {
			b.Fatal(rec.Body.String())
		}
	}
	bodies := make([][]byte, groups)
	for i := range bodies {
		bodies[i] = fmt.Appendf(nil, `{"GroupId":"g%d","Mode":"Increase","GroupCounter":[{"Key":"likes","Value":1},{"Key":"views","Value":3}]}`, i)
	}
	ok := []byte(`"ErrorCode":0`)
	call := func(body []byte) error {
		req := httptest.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), ok) {
			return fmt.Errorf("answer %d %s", rec.Code, rec.Body)
		}
		return nil
	}

	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := call(bodies[0]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(16) // enough writers to share each fsync
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			body := bodies[next.Add(1)%groups]
			for pb.Next() {
				if err := call(body); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkGetCounter measures one get_group_counter call through the
// whole handler, answered from the group's latch without a Pebble read or
// an fsync: the handler's own CPU cost per call, which the metrics and the
// request id add to.
func BenchmarkGetCounter(b *testing.B) {
	store, err := pebble.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	srv := httpapi.NewServer(store, testApps, nil)
	serve := func(cmd, body string) string {
		req := httptest.NewRequest(http.MethodPost, commandPath(cmd)+"?"+query(appMain, "admin").Encode(), strings.NewReader(body))
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec.Body.String()
	}
	for _, c := range [][2]string{
		{"create_group", `{"Type":"Public","Name":"n","GroupId":"hot"}`},
		{"update_group_counter", `{"GroupId":"hot","Mode":"Increase","GroupCounter":[{"Key":"likes","Value":1}]}`},
	} {
		if out := serve(c[0], c[1]); !strings.Contains(out, `"ErrorCode":0`) {
			b.Fatal(out)
		}
	}
	url := commandPath("get_group_counter") + "?" + query(appMain, "admin").Encode()
	body := []byte(`{"GroupId":"hot"}`)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(http.MethodPost, url, nil)
		rec := httptest.NewRecorder()
		for pb.Next() {
			req.Body = io.NopCloser(bytes.NewReader(body))
			rec.Body.Reset()
			clear(rec.Header())
			srv.ServeHTTP(rec, req)
			if !bytes.Contains(rec.Body.Bytes(), []byte(`"Value":1`)) {
				b.Fatal(rec.Body.String())
			}
		}
	})
}
