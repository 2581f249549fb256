package httpapi

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tallyserver/tally"
)

// codes are the codes of tally's error table, and codePos the position of
// each in it: the index of a request's counter in metrics.requests.
var (
	codes   = tally.Codes()
	codePos = func() map[tally.Code]int {
		m := make(map[tally.Code]int, len(codes))
		for i, c := range codes {
			m[c.Code] = i
		}
		return m
	}()
	okPos = codePos[tally.OK]
)

// requestBuckets span the latencies of a call, from a read answered from
// memory (~100µs) to a write stuck behind a slow disk (seconds).
var requestBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2}

// metrics are the server's Prometheus metrics. Every child a request
// touches is made in advance and kept in arrays indexed by command and by
// the code's position in the error table, so that counting a request is a
// few atomic adds, never a lookup of label values.
type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	rateLimited *prometheus.CounterVec
	oldKeyCalls *prometheus.CounterVec
	streams     prometheus.Gauge

	// byCode and latency are indexed by command.index, with the last
	// entries for unknownCommand and streamCommand. (They are slices because an array sized
	// by len(commands) would make the types refer to each other.)
	byCode  [][]prometheus.Counter
	latency []prometheus.Observer
}

func newMetrics() *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tally_requests_total",
			Help: "REST calls answered, by command (\"unknown\" for a path that names none) and ErrorCode (\"0\" for OK).",
		}, []string{"command", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tally_request_duration_seconds",
			Help:    "Time from the start of a REST call's handling to the end of its answer's write, by command.",
			Buckets: requestBuckets,
		}, []string{"command"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tally_rate_limited_total",
			Help: "REST calls refused by a rate limit, by app and by limit (\"api\": per command, \"app\": app-wide).",
		}, []string{"sdkappid", "limit"}),
		oldKeyCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tally_usersig_old_key_total",
			Help: "REST calls admitted with a UserSig made with the app's old_secret_key: while it rises, some client has not moved to secret_key yet.",
		}, []string{"sdkappid"}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tally_streams_open",
			Help: "Live counter streams open now, Server-Sent Events and WebSockets.",
		}),
	}
	all := append(commands[:], unknownCommand, streamCommand)
	m.byCode = make([][]prometheus.Counter, len(all))
	m.latency = make([]prometheus.Observer, len(all))
	for _, cmd := range all {
		m.byCode[cmd.index] = make([]prometheus.Counter, len(codes))
		for i, code := range codes {
			m.byCode[cmd.index][i] = m.requests.WithLabelValues(cmd.name, strconv.Itoa(int(code.Code)))
		}
		m.latency[cmd.index] = m.duration.WithLabelValues(cmd.name)
	}
	return m
}

// observe counts one answered call of cmd.
func (m *metrics) observe(cmd *command, code tally.Code, took time.Duration) {
	m.latency[cmd.index].Observe(took.Seconds())
	pos, ok := okPos, true
	if code != tally.OK {
		pos, ok = codePos[code]
	}
	if !ok {
		// A code outside errors.json is one of an app's own (10100 to
		// 10200), with which its back end refused a create_group
		// through Group.CallbackBeforeCreateGroup; rare enough for a
		// lookup of its child.
		m.requests.WithLabelValues(cmd.name, strconv.Itoa(int(code))).Inc()
		return
	}
	m.byCode[cmd.index][pos].Inc()
}

// limiters returns the counters of an app's rate-limit refusals.
func (m *metrics) limiters(app uint32) (perAPI, perApp prometheus.Counter) {
	id := strconv.FormatUint(uint64(app), 10)
	return m.rateLimited.WithLabelValues(id, "api"), m.rateLimited.WithLabelValues(id, "app")
}

// oldKey returns the counter of an app's calls admitted under its old key.
func (m *metrics) oldKey(app uint32) prometheus.Counter {
	return m.oldKeyCalls.WithLabelValues(strconv.FormatUint(uint64(app), 10))
}

// forget drops the per-app series of an app the server no longer serves,
// so that a removed app does not linger in every scrape.
func (m *metrics) forget(app uint32) {
	id := strconv.FormatUint(uint64(app), 10)
	m.rateLimited.DeleteLabelValues(id, "api")
	m.rateLimited.DeleteLabelValues(id, "app")
	m.oldKeyCalls.DeleteLabelValues(id)
}

// Describe implements prometheus.Collector.
func (s *Server) Describe(ch chan<- *prometheus.Desc) {
	s.metrics.requests.Describe(ch)
	s.metrics.duration.Describe(ch)
	s.metrics.rateLimited.Describe(ch)
	s.metrics.oldKeyCalls.Describe(ch)
	s.metrics.streams.Describe(ch)
}

// Collect implements prometheus.Collector.
func (s *Server) Collect(ch chan<- prometheus.Metric) {
	s.metrics.requests.Collect(ch)
	s.metrics.duration.Collect(ch)
	s.metrics.rateLimited.Collect(ch)
	s.metrics.oldKeyCalls.Collect(ch)
	s.metrics.streams.Collect(ch)
}
