package metrics_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/metrics"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// datum is one value CloudWatch extracts from an EMF document: a metric under
// one set of dimensions.
type datum struct {
	Namespace, Name, Unit string
	Dimensions            map[string]string
	Values                []float64
	Timestamp             int64
}

func (d datum) String() string {
	keys := make([]string, 0, len(d.Dimensions))
	for k := range d.Dimensions {
		keys = append(keys, k+"="+d.Dimensions[k])
	}
	sort.Strings(keys)
	return fmt.Sprintf("%s/%s{%s} %v %s", d.Namespace, d.Name, strings.Join(keys, ","), d.Values, d.Unit)
}

// extract reads a log line as CloudWatch Logs does: the line must be one JSON
// object; each directive's metrics are read from the root, once per
// dimension set, with the dimension values from the root too. It fails on
// anything the specification says makes the document invalid.
func extract(t *testing.T, line []byte) []datum {
	t.Helper()
	if n := strings.Count(string(line), "\n"); n != 1 || line[len(line)-1] != '\n' {
		t.Fatalf("want one line ending in a newline, got %d newlines: %s", n, line)
	}
	var root map[string]json.RawMessage
	if err := json.Unmarshal(line, &root); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, line)
	}
	var meta struct {
		Timestamp         *int64 `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
				Unit string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	}
	if err := json.Unmarshal(root["_aws"], &meta); err != nil || meta.Timestamp == nil || meta.CloudWatchMetrics == nil {
		t.Fatalf("no valid _aws metadata (Timestamp, CloudWatchMetrics): %v: %s", err, line)
	}
	var out []datum
	for _, dir := range meta.CloudWatchMetrics {
		if dir.Namespace == "" || dir.Dimensions == nil || len(dir.Metrics) == 0 || len(dir.Metrics) > 100 {
			t.Fatalf("invalid directive %+v", dir)
		}
		for _, set := range dir.Dimensions {
			if len(set) > 30 {
				t.Fatalf("dimension set of %d keys", len(set))
			}
			dims := map[string]string{}
			for _, k := range set {
				var v string
				if err := json.Unmarshal(root[k], &v); err != nil {
					t.Fatalf("dimension %q is not a string member of the root: %s", k, root[k])
				}
				dims[k] = v
			}
			for _, m := range dir.Metrics {
				var values []float64
				var one float64
				if err := json.Unmarshal(root[m.Name], &one); err == nil {
					values = []float64{one}
				} else if err := json.Unmarshal(root[m.Name], &values); err != nil || len(values) == 0 || len(values) > 100 {
					t.Fatalf("metric %q is not a number or 1-100 numbers at the root: %s", m.Name, root[m.Name])
				}
				out = append(out, datum{dir.Namespace, m.Name, m.Unit, dims, values, *meta.Timestamp})
			}
		}
	}
	return out
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s (go test -update writes it): %v", path, err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update, then review the diff):\n%s", path, got)
	}
}

var at = time.Date(2026, 3, 14, 9, 26, 53, 120_000_000, time.UTC)

func TestEncodeFollowsTheSpecification(t *testing.T) {
	doc := metrics.Document{
		Namespace: "Firebreak", Timestamp: at,
		Directives: []metrics.Directive{
			{Dimensions: [][]string{{}, {"FindingFamily"}}, Metrics: []metrics.Metric{{Name: "Contained", Unit: metrics.Count}}},
			{Metrics: []metrics.Metric{{Name: "TimeToIsolationMs", Unit: metrics.Milliseconds}}},
		},
		Dimensions: map[string]string{"FindingFamily": "Backdoor"},
		Values:     map[string][]float64{"Contained": {1}, "TimeToIsolationMs": {412.5, 980}},
		Properties: map[string]any{"level": "INFO"},
	}
	line, err := doc.Encode()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "document.json", string(line))
	var got []string
	for _, d := range extract(t, line) {
		if d.Timestamp != at.UnixMilli() {
			t.Errorf("%s: timestamp %d, want %d (milliseconds since the epoch)", d, d.Timestamp, at.UnixMilli())
		}
		got = append(got, d.String())
	}
	want := []string{
		"Firebreak/Contained{} [1] Count",
		"Firebreak/Contained{FindingFamily=Backdoor} [1] Count",
		"Firebreak/TimeToIsolationMs{} [412.5 980] Milliseconds",
	}
	if !slices.Equal(got, want) {
		t.Errorf("extracted\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestEncodeRefusesWhatCloudWatchWouldDrop(t *testing.T) {
	valid := func() metrics.Document {
		return metrics.Document{Namespace: "Firebreak", Timestamp: at,
			Directives: []metrics.Directive{{Dimensions: [][]string{{"Step"}}, Metrics: []metrics.Metric{{Name: "StepFailed", Unit: metrics.Count}}}},
			Dimensions: map[string]string{"Step": "detach"}, Values: map[string][]float64{"StepFailed": {1}}}
	}
	many := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	tests := []struct {
		name   string
		change func(d *metrics.Document)
		want   string
	}{
		{"namespace", func(d *metrics.Document) { d.Namespace = "Fire break!" }, "namespace"},
		{"no timestamp", func(d *metrics.Document) { d.Timestamp = time.Time{} }, "no timestamp"},
		{"101 metrics", func(d *metrics.Document) {
			d.Directives[0].Metrics = nil
			for _, n := range many(101, func(i int) string { return fmt.Sprintf("M%d", i) }) {
				d.Directives[0].Metrics = append(d.Directives[0].Metrics, metrics.Metric{Name: n})
				d.Values[n] = []float64{1}
			}
		}, "101 metrics"},
		{"31 dimensions", func(d *metrics.Document) {
			keys := many(31, func(i int) string { return fmt.Sprintf("D%d", i) })
			d.Directives[0].Dimensions = [][]string{keys}
			for _, k := range keys {
				d.Dimensions[k] = "v"
			}
		}, "31 keys"},
		{"101 values", func(d *metrics.Document) { d.Values["StepFailed"] = make([]float64, 101) }, "101 values"},
		{"no value", func(d *metrics.Document) { delete(d.Values, "StepFailed") }, "0 values"},
		{"NaN", func(d *metrics.Document) { d.Values["StepFailed"] = []float64{math.NaN()} }, "not a finite number"},
		{"dimension without value", func(d *metrics.Document) { delete(d.Dimensions, "Step") }, `dimension "Step" has no value`},
		{"non-ASCII dimension value", func(d *metrics.Document) { d.Dimensions["Step"] = "détach" }, "printable ASCII"},
		{"blank dimension value", func(d *metrics.Document) { d.Dimensions["Step"] = "  " }, "printable ASCII"},
		{"value without directive", func(d *metrics.Document) { d.Values["Orphan"] = []float64{1} }, "no directive"},
		{"property shadows a metric", func(d *metrics.Document) { d.Properties = map[string]any{"StepFailed": 2} }, "collides"},
	}
	if _, err := valid().Encode(); err != nil {
		t.Fatalf("the valid document is refused: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := valid()
			tt.change(&d)
			_, err := d.Encode()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want an error containing %q, got %v", tt.want, err)
			}
		})
	}
}
