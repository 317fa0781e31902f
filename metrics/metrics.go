// Package metrics exposes Prometheus metrics of the server: HTTP requests by
// route pattern, and provider checks by provider and outcome. Labels never
// carry ids, tenants, paths with values, or anything a user typed.
package metrics

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the collectors of one server. A nil *Metrics records nothing.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	checks   *prometheus.CounterVec
	checkDur *prometheus.HistogramVec

	// series are the request series by their labels: looking a series up
	// by label values hashes them on every request; the labels are bounded
	// (route patterns, Method, status codes), and so is this map.
	mu     sync.RWMutex
	series map[seriesKey]requestSeries
}

type seriesKey struct {
	route, method string
	status        int
}

type requestSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// requestSeries returns the series of one route, method and status.
func (m *Metrics) requestSeries(k seriesKey) requestSeries {
	m.mu.RLock()
	s, ok := m.series[k]
	m.mu.RUnlock()
	if ok {
		return s
	}
	s = requestSeries{
		count:    m.requests.WithLabelValues(k.route, k.method, strconv.Itoa(k.status)),
		duration: m.duration.WithLabelValues(k.route, k.method),
	}
	m.mu.Lock()
	if m.series == nil {
		m.series = make(map[seriesKey]requestSeries)
	}
	m.series[k] = s
	m.mu.Unlock()
	return s
}

// New returns metrics registered in a fresh registry, with Go runtime and
// process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "junction_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "junction_http_request_duration_seconds", Help: "HTTP request latency by route pattern and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "junction_provider_checks_total", Help: "Live provider checks (verify and dry runs) by provider and outcome (ok or an error code).",
		}, []string{"provider", "outcome"}),
		checkDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "junction_provider_check_duration_seconds", Help: "Live provider check latency by provider.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30},
		}, []string{"provider"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.checks, m.checkDur,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// RequireToken serves h only to requests carrying Authorization: Bearer
// token; others get 401. An empty token serves everyone.
func RequireToken(token string, h http.Handler) http.Handler {
	if token == "" {
		return h
	}
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"detail":"Not authenticated"}` + "\n"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Unmatched is the route label of a request no route matched.
const Unmatched = "unmatched"

// Method is the method label: the known methods as they are, anything else
// "other", so a client cannot create a series per invented method.
func Method(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete, http.MethodHead, http.MethodOptions:
		return m
	}
	return "other"
}

// Middleware counts and times requests by their chi route pattern (never the
// raw path, which carries ids; a request no route matched is Unmatched) and
// by Method.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// Below the access log the writer is wrapped already; its status is
		// the one this request answers.
		ww, wrapped := w.(middleware.WrapResponseWriter)
		if !wrapped {
			ww = middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		}
		next.ServeHTTP(ww, r)
		route := Unmatched
		if rc := chi.RouteContext(r.Context()); rc != nil {
			if p := rc.RoutePattern(); p != "" {
				route = p
			}
		}
		method := Method(r.Method)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		series := m.requestSeries(seriesKey{route: route, method: method, status: status})
		series.count.Inc()
		series.duration.Observe(time.Since(start).Seconds())
	})
}

// Check records one live provider check.
func (m *Metrics) Check(provider, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.checks.WithLabelValues(provider, outcome).Inc()
	m.checkDur.WithLabelValues(provider).Observe(d.Seconds())
}
