// Package metrics writes Firebreak's CloudWatch metrics as Embedded Metric
// Format (EMF) log lines: CloudWatch Logs turns them into metrics, so the
// functions need no CloudWatch client, permission or call.
package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"time"
)

// Limits of the EMF specification and of CloudWatch metric names.
const (
	MaxMetricsPerDirective = 100
	MaxDimensionsPerSet    = 30
	MaxValuesPerMetric     = 100
	maxNameLength          = 255
	maxDimensionName       = 250
	maxDimensionValue      = 1024
	// A log event is at most 1 MB; EMF documents share the limit.
	maxDocumentBytes = 1 << 20
)

// Unit is a CloudWatch unit.
type Unit string

// The units Firebreak's metrics use.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
	Seconds      Unit = "Seconds"
)

// Metric names one metric of a directive.
type Metric struct {
	Name string
	Unit Unit
}

// Directive is one entry of _aws.CloudWatchMetrics: metrics published under
// every set of dimension keys given.
type Directive struct {
	// Dimensions lists dimension sets; an empty set publishes the metrics
	// without dimensions.
	Dimensions [][]string
	Metrics    []Metric
}

// Document is one EMF log event. Dimension values, metric values and other
// properties are all root members, so one document holds one value per
// dimension: metrics that need another value go in another document.
type Document struct {
	Namespace  string
	Timestamp  time.Time
	Directives []Directive
	Dimensions map[string]string
	// Values holds each metric's values (one or up to MaxValuesPerMetric).
	Values map[string][]float64
	// Properties are other root members (for Lambda's log-level filter).
	Properties map[string]any
}

// At most 255 characters, checked apart: a counted repetition compiles one
// copy per count at every cold start.
var namespacePattern = regexp.MustCompile(`^[a-zA-Z0-9._#:/-]+$`)

// Encode returns the document as one line of JSON, or an error naming
// everything about it that CloudWatch would refuse or silently drop.
func (d Document) Encode() ([]byte, error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	root := make(map[string]any, len(d.Dimensions)+len(d.Values)+len(d.Properties)+1)
	for k, v := range d.Properties {
		root[k] = v
	}
	for k, v := range d.Dimensions {
		root[k] = v
	}
	for k, v := range d.Values {
		if len(v) == 1 {
			root[k] = v[0]
		} else {
			root[k] = v
		}
	}
	type metric struct {
		Name string `json:"Name"`
		Unit Unit   `json:"Unit,omitempty"`
	}
	type directive struct {
		Namespace  string     `json:"Namespace"`
		Dimensions [][]string `json:"Dimensions"`
		Metrics    []metric   `json:"Metrics"`
	}
	dirs := make([]directive, len(d.Directives))
	for i, dir := range d.Directives {
		dims := dir.Dimensions
		if len(dims) == 0 {
			dims = [][]string{{}}
		}
		dirs[i] = directive{Namespace: d.Namespace, Dimensions: make([][]string, len(dims))}
		for j, set := range dims {
			dirs[i].Dimensions[j] = append([]string{}, set...)
		}
		for _, m := range dir.Metrics {
			dirs[i].Metrics = append(dirs[i].Metrics, metric(m))
		}
	}
	root["_aws"] = struct {
		Timestamp         int64       `json:"Timestamp"`
		CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
	}{d.Timestamp.UnixMilli(), dirs}

	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("encoding the metric document: %w", err)
	}
	if b.Len() > maxDocumentBytes {
		return nil, fmt.Errorf("metric document of %d bytes is over the %d-byte log event limit", b.Len(), maxDocumentBytes)
	}
	return b.Bytes(), nil
}

func (d Document) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(d.Namespace) > maxNameLength || !namespacePattern.MatchString(d.Namespace) {
		bad("namespace %q is not 1-255 characters of [a-zA-Z0-9._#:/-]", d.Namespace)
	}
	if d.Timestamp.IsZero() {
		bad("no timestamp")
	}
	if len(d.Directives) == 0 {
		bad("no metric directive")
	}
	for k := range d.Properties {
		_, dim := d.Dimensions[k]
		_, val := d.Values[k]
		if k == "_aws" || dim || val {
			bad("property %q collides with a dimension, a metric or _aws", k)
		}
	}
	for k := range d.Dimensions {
		if _, ok := d.Values[k]; ok || k == "_aws" {
			bad("dimension %q collides with a metric or _aws", k)
		}
	}
	published := map[string]bool{}
	for i, dir := range d.Directives {
		if n := len(dir.Metrics); n == 0 || n > MaxMetricsPerDirective {
			bad("directive %d has %d metrics; EMF allows 1-%d", i, n, MaxMetricsPerDirective)
		}
		for _, set := range dir.Dimensions {
			if len(set) > MaxDimensionsPerSet {
				bad("directive %d has a dimension set of %d keys; EMF allows %d", i, len(set), MaxDimensionsPerSet)
			}
			for _, key := range set {
				v, ok := d.Dimensions[key]
				switch {
				case !ok:
					bad("dimension %q has no value", key)
				case key == "" || len(key) > maxDimensionName || !printableASCII(key) || key[0] == ':':
					bad("dimension name %q is not 1-%d printable ASCII characters", key, maxDimensionName)
				case len(v) > maxDimensionValue || !printableASCII(v) || !hasNonSpace(v):
					bad("dimension %s value %q is not up to %d printable ASCII characters", key, v, maxDimensionValue)
				}
			}
		}
		for _, m := range dir.Metrics {
			if m.Name == "" || len(m.Name) > maxNameLength || !printableASCII(m.Name) {
				bad("metric name %q is not 1-%d printable ASCII characters", m.Name, maxNameLength)
			}
			if published[m.Name] {
				bad("metric %q is in more than one directive", m.Name)
			}
			published[m.Name] = true
			vs := d.Values[m.Name]
			if len(vs) == 0 || len(vs) > MaxValuesPerMetric {
				bad("metric %q has %d values; EMF takes 1-%d", m.Name, len(vs), MaxValuesPerMetric)
			}
			if slices.ContainsFunc(vs, func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }) {
				bad("metric %q has a value that is not a finite number", m.Name)
			}
		}
	}
	for k := range d.Values {
		if !published[k] {
			bad("metric %q has values but no directive publishes it", k)
		}
	}
	return errors.Join(errs...)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func hasNonSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' {
			return true
		}
	}
	return false
}
