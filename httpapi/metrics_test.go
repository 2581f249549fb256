package httpapi_test

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tallyserver/tally"
	"github.com/tallyserver/tally/httpapi"
)

// newMetricsHarness is a harness on front f whose server is registered in
// a registry of its own and serves it on /metrics, as cmd/tally wires it.
func newMetricsHarness(t *testing.T, f front) *harness {
	t.Helper()
	return startFrontHarness(t, f, httpapi.Limits{}, func(server *httpapi.Server) {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(server)
		server.Metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	})
}

// scrape reads /metrics at base and returns every sample by series, named
// as name{label="value",...} with the labels sorted; a histogram gives its
// _count and _sum.
func scrape(t *testing.T, client *http.Client, base string) map[string]float64 {
	t.Helper()
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			key := series(name, m.GetLabel())
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[series(name+"_count", m.GetLabel())] = float64(m.GetHistogram().GetSampleCount())
				out[series(name+"_sum", m.GetLabel())] = m.GetHistogram().GetSampleSum()
			default:
				out[key] = m.GetUntyped().GetValue()
			}
		}
	}
	return out
}

func series(name string, labels []*dto.LabelPair) string {
	var ls []string
	for _, l := range labels {
		ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(ls)
	return name + "{" + strings.Join(ls, ",") + "}"
}

// TestMetricsCountCalls makes calls that succeed and fail in known
// numbers, and reads them back from /metrics of the running server.
func TestMetricsCountCalls(t *testing.T) { forFronts(t, testMetricsCountCalls) }

func testMetricsCountCalls(t *testing.T, f front) {
	h := newMetricsHarness(t, f)
	h.createGroup(t, appMain, "Public", "m1")
	for range 3 {
		wantOK(t, h.api(t, appMain, "update_group_counter",
			`{"GroupId":"m1","Mode":"Increase","GroupCounter":[{"Key":"k","Value":1}]}`))
	}
	wantCode(t, h.api(t, appMain, "get_group_counter", `{"GroupId":"missing"}`), tally.ErrGroupNotFound)
	wantCode(t, h.api(t, appMain, "get_group_counter", `{"GroupId":"missing"}`), tally.ErrGroupNotFound)
	wantCode(t, h.api(t, appMain, "no_such_command", `{}`), tally.ErrUnknownCommand)
	q := query(appMain, "admin")
	q.Set("usersig", "garbage")
	wantCode(t, h.call(t, "update_group_counter", q, `{}`), tally.ErrUserSigMalformed)

	got := scrape(t, h.client, h.url)
	for k, want := range map[string]float64{
		`tally_requests_total{code="0",command="create_group"}`:                1,
		`tally_requests_total{code="0",command="update_group_counter"}`:        3,
		`tally_requests_total{code="10010",command="get_group_counter"}`:       2,
		`tally_requests_total{code="0",command="get_group_counter"}`:           0,
		`tally_requests_total{code="60009",command="unknown"}`:                 1,
		`tally_requests_total{code="70003",command="update_group_counter"}`:    1,
		`tally_request_duration_seconds_count{command="update_group_counter"}`: 4,
		`tally_request_duration_seconds_count{command="get_group_counter"}`:    2,
		`tally_request_duration_seconds_count{command="unknown"}`:              1,
		`tally_request_duration_seconds_count{command="destroy_group"}`:        0,
	} {
		v, ok := got[k]
		if !ok {
			t.Errorf("%s is missing from /metrics", k)
			continue
		}
		if v != want {
			t.Errorf("%s = %v, want %v", k, v, want)
		}
	}
	if sum := got[`tally_request_duration_seconds_sum{command="update_group_counter"}`]; sum <= 0 || sum > 10 {
		t.Errorf("update_group_counter took %vs in all, want a few milliseconds", sum)
	}
	// Every code of the table is there for every command from the start,
	// so that a rate over a code that has not happened yet is 0, not absent.
	for _, c := range tally.Codes() {
		k := fmt.Sprintf(`tally_requests_total{code="%d",command="delete_group_counter"}`, c.Code)
		if _, ok := got[k]; !ok {
			t.Errorf("%s is missing from /metrics", k)
		}
	}
}

// TestMetricsRateLimited shows that each refusal by a rate limit is
// counted under its app and its limit, and only then.
func TestMetricsRateLimited(t *testing.T) { forFronts(t, testMetricsRateLimited) }

func testMetricsRateLimited(t *testing.T, f front) {
	h := newMetricsHarness(t, f)
	for _, tc := range []struct {
		app   uint32
		limit string
		code  tally.Code
	}{
		{appPerAPI, "api", tally.ErrAPIRateLimit},
		{appPerApp, "app", tally.ErrAppRateLimit},
	} {
		// Both apps allow 5 calls a second; calls are made until one is
		// refused, however slow the machine.
		refused := 0
		for i := 0; i < 50 && refused == 0; i++ {
			m := h.api(t, tc.app, "get_appid_group_list", `{}`)
			switch code(m) {
			case 0:
			case int64(tc.code):
				refused++
			default:
				t.Fatalf("app %d: answer %v", tc.app, m)
			}
		}
		if refused == 0 {
			t.Fatalf("app %d: no call was refused", tc.app)
		}
		got := scrape(t, h.client, h.url)
		id := fmt.Sprint(tc.app)
		for _, limit := range []string{"api", "app"} {
			want := 0.0
			if limit == tc.limit {
				want = float64(refused)
			}
			k := fmt.Sprintf(`tally_rate_limited_total{limit=%q,sdkappid=%q}`, limit, id)
			if v, ok := got[k]; !ok || v != want {
				t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
			}
		}
		k := fmt.Sprintf(`tally_requests_total{code="%d",command="get_appid_group_list"}`, tc.code)
		if got[k] != float64(refused) {
			t.Errorf("%s = %v, want %d", k, got[k], refused)
		}
	}
}

// TestMetricsOnlyWhenAsked shows that without a Metrics handler /metrics
// is a path like any other, answered with an envelope.
func TestMetricsOnlyWhenAsked(t *testing.T) {
	h := newHarness(t)
	m := h.do(t, http.MethodGet, "/metrics", "", nil)
	wantCode(t, m, tally.ErrBadHTTPRequest)
}

// TestMetricsAppsReplaced shows that SetApps keeps the rate-limit series of
// the apps that stay and drops those of the apps that go.
func TestMetricsAppsReplaced(t *testing.T) { forFronts(t, testMetricsAppsReplaced) }

func testMetricsAppsReplaced(t *testing.T, f front) {
	h := newMetricsHarness(t, f)
	before := scrape(t, h.client, h.url)
	if _, ok := before[fmt.Sprintf(`tally_rate_limited_total{limit="api",sdkappid="%d"}`, appOther)]; !ok {
		t.Fatalf("app %d has no rate-limit series", appOther)
	}
	h.server.SetApps(testApps[:1])
	after := scrape(t, h.client, h.url)
	if _, ok := after[fmt.Sprintf(`tally_rate_limited_total{limit="api",sdkappid="%d"}`, appOther)]; ok {
		t.Errorf("app %d is gone but its rate-limit series stays", appOther)
	}
	if _, ok := after[fmt.Sprintf(`tally_rate_limited_total{limit="app",sdkappid="%d"}`, appMain)]; !ok {
		t.Errorf("app %d stays but its rate-limit series went", appMain)
	}
}
