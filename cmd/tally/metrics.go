package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// newMetrics returns the process's registry, holding the Go runtime's and
// the process's collectors and cs, and the handler that serves it on
// /metrics. The registry is the process's own rather than Prometheus's
// global one, so that what it serves is exactly what is registered here;
// the API server registers itself once it exists.
func newMetrics(cs ...prometheus.Collector) (*prometheus.Registry, http.Handler) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(cs...)
	return reg, promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
