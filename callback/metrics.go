package callback

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics count a Deliverer's work. Backlog and age are read when
// scraped, from the events this node holds: an outbox that a dead handler
// has filled beyond what is held counts as what is held (MaxHeld).
type metrics struct {
	attempts, failures, delivered, backlogRead prometheus.Counter
	dropped                                    *prometheus.CounterVec
	backlog, oldest                            prometheus.GaugeFunc
}

func newMetrics(d *Deliverer) *metrics {
	return &metrics{
		attempts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tally_callback_attempts_total",
			Help: "After-event callbacks sent, each attempt counted.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tally_callback_failures_total",
			Help: "After-event callback attempts that failed: no answer within 2 s, a status other than 200, or no OK envelope.",
		}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tally_callback_delivered_total",
			Help: "After-events their handler accepted.",
		}),
		backlogRead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tally_callback_read_total",
			Help: "After-events read from the outbox for delivery.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tally_callback_dropped_total",
			Help: "After-events given up on, by reason: too_old (past callback_max_age), no_url (the app has no callback_url now), not_wanted (its callback_events no longer name the event).",
		}, []string{"reason"}),
		backlog: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tally_callback_backlog",
			Help: "After-events waiting for delivery that this node holds (at most MaxHeld, 4096).",
		}, func() float64 { n, _ := d.backlog(); return float64(n) }),
		oldest: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tally_callback_oldest_age_seconds",
			Help: "Age of the oldest after-event waiting for delivery that this node holds; 0 when none waits.",
		}, func() float64 { _, age := d.backlog(); return age.Seconds() }),
	}
}

// Describe implements prometheus.Collector.
func (d *Deliverer) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range d.m.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (d *Deliverer) Collect(ch chan<- prometheus.Metric) {
	for _, c := range d.m.collectors() {
		c.Collect(ch)
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.attempts, m.failures, m.delivered, m.backlogRead, m.dropped, m.backlog, m.oldest}
}
