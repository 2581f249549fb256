// Package live holds the page that watches groups' counters change: HTML,
// a script and a style sheet that open the counter stream with
// EventSource. They are embedded, so that the binary serves them with
// nothing to install, and they load nothing from another origin, so that
// the page works offline and its Content-Security-Policy can forbid every
// other origin.
package live

import (
	"embed"
	"net/http"
	"strconv"
	"strings"
)

// Path is where the page is served; Path without its slash redirects to it.
const Path = "/live/"

// CSP is the page's Content-Security-Policy. Its own files are all it
// loads, and the stream on its own origin all it connects to; nothing may
// frame it, and no form may be sent anywhere: the form is read by the
// script, and a submission without it would put the UserSig in a query
// string, which servers log.
const CSP = "default-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

//go:embed index.html live.js live.css
var embedded embed.FS

// file is one file of the page, with the headers it is served with.
type file struct {
	body   []byte
	header http.Header
}

// files are the page's files by path.
var files = map[string]file{
	Path:              load("index.html", "text/html; charset=utf-8"),
	Path + "live.js":  load("live.js", "text/javascript; charset=utf-8"),
	Path + "live.css": load("live.css", "text/css; charset=utf-8"),
}

func load(name, contentType string) file {
	b, err := embedded.ReadFile(name)
	if err != nil {
		panic(err) // the embed directive names it
	}
	return file{body: b, header: http.Header{
		"Content-Type":            {contentType},
		"Content-Length":          {strconv.Itoa(len(b))},
		"Content-Security-Policy": {CSP},
		"X-Content-Type-Options":  {"nosniff"},
		"Referrer-Policy":         {"no-referrer"},
		// The files change with the binary; a browser asks again rather
		// than keep a page an upgrade has replaced.
		"Cache-Control": {"no-cache"},
	}}
}

// Files returns the page's files by path, for tests that check what it
// holds.
func Files() map[string][]byte {
	m := make(map[string][]byte, len(files))
	for p, f := range files {
		m[p] = f.body
	}
	return m
}

// Serve answers r if it is a GET or HEAD of one of the page's files, or of
// Path without its slash, and reports whether it did. Every other request
// is left to the caller, so that whoever serves the page around another
// API answers everything else as before.
func Serve(w http.ResponseWriter, r *http.Request) bool {
	if !strings.HasPrefix(r.URL.Path, Path[:len(Path)-1]) || r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if r.URL.Path == Path[:len(Path)-1] {
		// Relative, so that it holds behind a proxy that adds a prefix;
		// the browser keeps the fragment across it.
		loc := Path[1:]
		if r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		h := w.Header()
		h["Location"] = []string{loc}
		h["Content-Length"] = []string{"0"}
		w.WriteHeader(http.StatusMovedPermanently)
		return true
	}
	f, ok := files[r.URL.Path]
	if !ok {
		return false
	}
	h := w.Header()
	for k, v := range f.header {
		h[k] = v
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(f.body)
	}
	return true
}
