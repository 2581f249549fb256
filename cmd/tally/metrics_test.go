package main

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrapeMetrics reads url, a /metrics, and returns each sample by series,
// named as name{label="value",...} with the labels sorted; a histogram
// gives its _count.
func scrapeMetrics(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(ls)
			labels := "{" + strings.Join(ls, ",") + "}"
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[name+labels] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[name+labels] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[name+"_count"+labels] = float64(m.GetHistogram().GetSampleCount())
			default:
				out[name+labels] = m.GetUntyped().GetValue()
			}
		}
	}
	return out
}

// TestMetricsAndLog runs a server, scrapes its /metrics on the API's
// address and the admin one, and reads its failed-call log line.
func TestMetricsAndLog(t *testing.T) {
	t.Parallel()
	m := newMain(t, testConfig())
	m.Admin = "127.0.0.1:0"
	m.open(t)
	c := m.client(testKey)
	c.mustOK(t, "create_group", map[string]any{"Type": "Public", "Name": "g", "GroupId": "g1"})
	for range 2 {
		c.mustOK(t, "update_group_counter", map[string]any{"GroupId": "g1", "Mode": "Increase",
			"GroupCounter": []map[string]any{{"Key": "a", "Value": 1}, {"Key": "b", "Value": 1}}})
	}
	r, err := c.call(context.Background(), "get_group_counter", []byte(`{"GroupId":"nope"}`))
	if err != nil || r.ErrorCode != 10010 {
		t.Fatalf("get_group_counter of a missing group: %+v, %v", r, err)
	}

	var got map[string]float64
	deadline := time.Now().Add(10 * time.Second)
	for {
		got = scrapeMetrics(t, m.URL()+"/metrics")
		if _, ok := got["tally_store_groups{}"]; ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for k, want := range map[string]float64{
		`tally_requests_total{code="0",command="create_group"}`:                1,
		`tally_requests_total{code="0",command="update_group_counter"}`:        2,
		`tally_requests_total{code="10010",command="get_group_counter"}`:       1,
		`tally_request_duration_seconds_count{command="update_group_counter"}`: 2,
		`tally_store_commit_duration_seconds_count{}`:                          3,
		`tally_store_groups{}`:   1,
		`tally_store_counters{}`: 2,
		fmt.Sprintf(`tally_rate_limited_total{limit="api",sdkappid="%d"}`, testAppID): 0,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}
	for _, k := range []string{"go_goroutines{}", "process_resident_memory_bytes{}", "tally_store_fsync_batch_size_count{}"} {
		if _, ok := got[k]; !ok {
			t.Errorf("%s is missing from /metrics", k)
		}
	}
	if adm := scrapeMetrics(t, "http://"+m.AdminAddr()+"/metrics"); adm[`tally_requests_total{code="0",command="create_group"}`] != 1 {
		t.Errorf("the admin listener's /metrics does not count the create_group")
	}

	// The failed call logged one line on stderr, and nothing logs the
	// UserSig or the key.
	var lines []string
	for _, l := range strings.Split(m.stderr.String(), "\n") {
		if strings.Contains(l, "request failed") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "command=get_group_counter") ||
		!strings.Contains(lines[0], "code=10010") || !strings.Contains(lines[0], fmt.Sprintf("sdkappid=%d", testAppID)) ||
		!strings.Contains(lines[0], "request_id=") {
		t.Errorf("want one request-failed line for get_group_counter with code 10010; stderr:\n%s", m.stderr)
	}
	if out := m.stderr.String(); strings.Contains(out, c.sig) || strings.Contains(out, testKey) {
		t.Errorf("stderr holds the UserSig or the key:\n%s", out)
	}
}
