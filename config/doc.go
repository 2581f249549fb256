// Package config reads Tally's config file.
//
// The file is YAML, so JSON works too:
//
//	listen: "127.0.0.1:8080"      # default
//	data: "./tally-data"          # default
//	store: "postgres://tally@db1,db2/tally?target_session_attrs=read-write"
//	                              # default: the embedded store in data
//	nats_url: "nats://nats1:4222,nats://nats2:4222"
//	                              # with store: live changes between nodes; default none
//	tls_cert: "/etc/tally/cert.pem" # with tls_key, serve HTTPS; default plain HTTP
//	tls_key: "/etc/tally/key.pem"
//	log_format: "text"            # default; or "json"
//	log_level: "info"             # default; or "debug", "warn", "error"
//	http_front: "nethttp"         # default; or "fasthttp" (restart to change)
//	callback_max_age: "1h"        # default: how long an after-event is retried
//	memory_budget: "512MiB"       # default: the embedded store's caches and memtables
//	stream_budget: 50000          # default: messages a second the live stream sends per group
//	apps:
//	  - sdkappid: 1400000001
//	    secret_key: "…"           # required
//	    old_secret_key: "…"       # optional: a key being rotated out
//	    admins: ["administrator"] # required, 1 to 10 identifiers
//	    edition: "ultimate"       # default
//	    rate_limit_per_api: 200   # default; 0 = unlimited
//	    rate_limit_per_app: 0     # default
//	    disabled: false           # default
//	    callback_url: "https://hooks.example.com/im"  # default none: third-party callbacks
//	    callback_token: "…"       # optional: signs each callback URL (Sign, RequestTime)
//	    callback_events:          # default: every after-event
//	      - Group.CallbackBeforeCreateGroup           # only when listed
//	      - Group.CallbackAfterCreateGroup
//
// callback_max_age bounds how long an after-event whose handler refuses
// it or cannot be reached is retried before it is dropped (and counted,
// and logged). An hour outlasts a handler's deploy or restart; the
// events wait in the store meanwhile, on the disk the API writes to, so
// a handler gone for good must not make them pile up without end.
// Events of an app whose callback_url is removed are dropped too.
//
// memory_budget bounds what the embedded store keeps in memory: Pebble's
// memtables and block cache, the counters of the groups used last, which
// calls then find without reading a table, and room for the rest of the
// Go heap (pebble/budget.go shares it out). The default, 512 MiB, is what
// a machine of 1 GiB can spare; give more to keep more groups in memory
// (tally_store_counter_cache_* in /metrics shows how much of the working
// set it holds). It takes KiB, MiB, GiB or TiB, or a number of bytes, and
// is at least 32MiB. A store on PostgreSQL has no use for it.
//
// http_front picks the HTTP server the API is served on: Go's net/http,
// or github.com/valyala/fasthttp, which spends less CPU on each call. Both
// keep the same wire promises (HTTP 200 and an envelope for every
// request, the same timeouts, no connection cap). A change needs a
// restart: the listener's server cannot be swapped under open
// connections.
//
// stream_budget bounds the work of the live counter stream on a busy
// group: its changes go to its subscribers one by one while that keeps
// within the budget, summed over the subscribers, and as one message per
// turn past it. 50,000 tells a group watched by 1,000 about 50 times a
// second, more often than a screen shows a person, and keeps a hot group
// with a large audience to about half a core of this machine's. A reload
// applies a change.
//
// A server that starts with a wrong secret or a misspelt limit fails in ways
// that are hard to trace back to the file, so the file is read strictly:
// unknown keys, values of the wrong type, a key given twice, a value left
// empty and a second document are all refused, with a message that names the
// line and the setting (for example "line 7: apps[1].edition: ...").
package config
