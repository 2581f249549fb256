package httpapi

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tallyserver/tally"
)

// unknownCommand is the command index of a path that names no command, so
// that such requests are counted too, under the command "unknown".
const unknownCommand = len(commands)

// commandName returns the name of command index c as the metrics and the
// log give it.
func commandName(c int) string {
	if c == unknownCommand {
		return "unknown"
	}
	return commands[c].name
}

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

	// byCode and latency are indexed by command index, with one more
	// entry for unknownCommand. (They are slices because an array sized
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
	}
	m.byCode = make([][]prometheus.Counter, unknownCommand+1)
	m.latency = make([]prometheus.Observer, unknownCommand+1)
	for c := range m.byCode {
		name := commandName(c)
		m.byCode[c] = make([]prometheus.Counter, len(codes))
		for i, code := range codes {
			m.byCode[c][i] = m.requests.WithLabelValues(name, strconv.Itoa(int(code.Code)))
		}
		m.latency[c] = m.duration.WithLabelValues(name)
	}
	return m
}

// observe counts one answered call of command c.
func (m *metrics) observe(c int, code tally.Code, took time.Duration) {
	pos := okPos
	if code != tally.OK {
		var ok bool
		if pos, ok = codePos[code]; !ok {
			// A code missing from the table is a bug that TestCodeTable
			// should have caught; it is still counted.
			m.requests.WithLabelValues(commandName(c), strconv.Itoa(int(code))).Inc()
			m.latency[c].Observe(took.Seconds())
			return
		}
	}
	m.byCode[c][pos].Inc()
	m.latency[c].Observe(took.Seconds())
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
}

// Collect implements prometheus.Collector.
func (s *Server) Collect(ch chan<- prometheus.Metric) {
	s.metrics.requests.Collect(ch)
	s.metrics.duration.Collect(ch)
	s.metrics.rateLimited.Collect(ch)
	s.metrics.oldKeyCalls.Collect(ch)
}
