package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/tallyserver/tally/httpapi"
)

// noop serves the HTTP ceiling: a net/http handler that does what every
// handler of the update call must do and nothing more. It reads and
// decodes the body and writes the envelope Tally writes, with the same
// server timeouts, but checks no UserSig and stores nothing.
func noop(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("noop", stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	fast := fs.Bool("fasthttp", false, "serve it on fasthttp instead of net/http")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "noop serving http://%s\n", ln.Addr())
	if *fast {
		return serveFastNoop(ln)
	}
	// The server Tally runs, with its timeouts and limits, on a plain
	// listener: the ceiling is net/http's, without Tally's refusal rewrite.
	srv := httpapi.NewHTTPServer(http.HandlerFunc(noopHandler), nil, httpapi.Limits{})
	return srv.Serve(ln)
}

type updateRequest struct {
	GroupId      string
	Mode         string
	GroupCounter []struct {
		Key   string
		Value int64
	}
}

func noopHandler(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	out := noopAnswer(body, err)
	h := w.Header()
	h["Content-Type"] = []string{"application/json; charset=utf-8"}
	h["Content-Length"] = []string{strconv.Itoa(len(out))}
	w.Write(out)
}

// noopAnswer decodes an update's body and answers it as Tally would, with
// the keys and values it names.
func noopAnswer(body []byte, err error) []byte {
	var req updateRequest
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	var out []byte
	if err != nil {
		out = fmt.Appendf(nil, `{"ActionStatus":"FAIL","ErrorCode":60003,"ErrorInfo":%q}`, err.Error())
	} else {
		out = append(out, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","GroupCounter":[`...)
		for i, c := range req.GroupCounter {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, `{"Key":`...)
			out = strconv.AppendQuote(out, c.Key)
			out = append(out, `,"Value":`...)
			out = strconv.AppendInt(out, c.Value, 10)
			out = append(out, '}')
		}
		out = append(out, "]}"...)
	}
	return out
}
