package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/tallyserver/tally/httpapi"
	"github.com/tallyserver/tally/pebble"
)

// BenchmarkUpdateIncrease measures one Increase call through the whole
// handler on the real store: query parsing, UserSig verification, rate
// limits, body parsing and the durable write. The 20-key variant is a full
// group's update, and the parallel one shows what group commit makes of
// concurrent writers on different groups.
func BenchmarkUpdateIncrease(b *testing.B) {
	store, err := pebble.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	srv := httpapi.NewServer(store, testApps, nil)
	url := commandPath("update_group_counter") + "?" + query(appMain, "admin").Encode()
	const groups = 64
	for i := range groups + 1 { // the last for the 20-key calls alone
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
	b.Run("20-keys", func(b *testing.B) {
		body := fmt.Appendf(nil, `{"GroupId":"g%d","Mode":"Increase","GroupCounter":[`, groups)
		for i := range 20 {
			if i > 0 {
				body = append(body, ',')
			}
			body = fmt.Appendf(body, `{"Key":"key%02d","Value":1}`, i)
		}
		body = append(body, "]}"...)
		b.ReportAllocs()
		for b.Loop() {
			if err := call(body); err != nil {
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

// BenchmarkMembers measures the member calls through the whole handler on
// the groups they are built for: add_group_member of 300 accounts, the
// most a call takes, and pages of get_group_member_info from a Community
// of 100,000 members (by its Next cursor) and from a Public group of 6,000
// (by Offset). Members are kept one key each, so neither call reads or
// writes the whole group.
func BenchmarkMembers(b *testing.B) {
	store, err := pebble.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	srv := httpapi.NewServer(store, testApps, nil)
	q := "?" + query(appMain, "admin").Encode()
	serve := func(b *testing.B, cmd, body string) string {
		req := httptest.NewRequest(http.MethodPost, commandPath(cmd)+q, strings.NewReader(body))
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if !strings.Contains(rec.Body.String(), `"ErrorCode":0`) {
			b.Fatalf("%s %.200s: %.300s", cmd, body, rec.Body.String())
		}
		return rec.Body.String()
	}
	fill := func(b *testing.B, typ, id string, members int) {
		serve(b, "create_group", fmt.Sprintf(`{"Type":%q,"Name":"n","GroupId":%q,"MaxMemberCount":%d}`, typ, id, members))
		for n := 0; n < members; n += 300 {
			serve(b, "add_group_member", addBodyN(id, "u", n, min(300, members-n)))
		}
	}
	fill(b, "Community", "@TGS#_big", 100000)
	fill(b, "Public", "public", 6000)

	b.Run("add-300", func(b *testing.B) {
		b.ReportAllocs()
		round, added := 0, 0
		serve(b, "create_group", `{"Type":"Community","Name":"n","GroupId":"@TGS#_add","MaxMemberCount":100000}`)
		for b.Loop() {
			if added+300 > 100000 {
				// The group is full: start another, off the clock.
				b.StopTimer()
				serve(b, "destroy_group", `{"GroupId":"@TGS#_add"}`)
				serve(b, "create_group", `{"Type":"Community","Name":"n","GroupId":"@TGS#_add","MaxMemberCount":100000}`)
				added = 0
				b.StartTimer()
			}
			serve(b, "add_group_member", addBodyN("@TGS#_add", fmt.Sprintf("r%d-", round), added, 300))
			added += 300
			round++
		}
	})
	b.Run("community-page-100", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i = (i + 7919) % 99900
			serve(b, "get_group_member_info", fmt.Sprintf(`{"GroupId":"@TGS#_big","Limit":100,"Next":"%d"}`, i+1))
		}
	})
	b.Run("public-offset-page-100", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i = (i + 7919) % 5900
			serve(b, "get_group_member_info", fmt.Sprintf(`{"GroupId":"public","Limit":100,"Offset":%d}`, i))
		}
	})
}

// addBodyN is an add_group_member body that adds n accounts, named
// prefix and a number from from on.
func addBodyN(id, prefix string, from, n int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"GroupId":%q,"MemberList":[`, id)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"Member_Account":"%s%d"}`, prefix, from+i)
	}
	sb.WriteString("]}")
	return sb.String()
}

// BenchmarkGetCounterFast is BenchmarkGetCounter on the fasthttp front's
// handler, with fasthttp's request context, so that what this front
// allocates for each call shows.
func BenchmarkGetCounterFast(b *testing.B) {
	store, err := pebble.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	srv := httpapi.NewServer(store, testApps, nil)
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	q := "?" + query(appMain, "admin").Encode()
	serve := func(ctx *fasthttp.RequestCtx, uri, body string) []byte {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod(http.MethodPost)
		ctx.Request.SetRequestURI(uri)
		ctx.Request.Header.SetHost("tally")
		ctx.Request.SetBodyString(body)
		srv.ServeFastHTTP(ctx)
		return ctx.Response.Body()
	}
	newCtx := func() *fasthttp.RequestCtx {
		var ctx fasthttp.RequestCtx
		ctx.Init(new(fasthttp.Request), remote, nil)
		return &ctx
	}
	for _, c := range [][2]string{
		{"create_group", `{"Type":"Public","Name":"n","GroupId":"hot"}`},
		{"update_group_counter", `{"GroupId":"hot","Mode":"Increase","GroupCounter":[{"Key":"likes","Value":1}]}`},
	} {
		if out := serve(newCtx(), commandPath(c[0])+q, c[1]); !bytes.Contains(out, []byte(`"ErrorCode":0`)) {
			b.Fatalf("%s", out)
		}
	}
	uri := commandPath("get_group_counter") + q
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := newCtx()
		for pb.Next() {
			if out := serve(ctx, uri, `{"GroupId":"hot"}`); !bytes.Contains(out, []byte(`"Value":1`)) {
				b.Fatalf("%s", out)
			}
		}
	})
}
