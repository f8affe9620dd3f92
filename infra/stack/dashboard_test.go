package stack_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// The alarms on Firebreak's own metrics read the names the functions emit
// (internal/contract) and page the report topic like the others.
func TestFirebreakAlarmsPageTheReportTopic(t *testing.T) {
	for _, tt := range []struct {
		name      string
		overrides map[string]any
		ageSecs   int
	}{{"defaults: 15 minutes", nil, 900}, {"findingAgeAlarmMinutes 30", map[string]any{"findingAgeAlarmMinutes": "30"}, 1800}} {
		t.Run(tt.name, func(t *testing.T) {
			s := synth(t, tt.overrides)
			topicID, _ := s.only(t, "AWS::SNS::Topic")
			for prefix, want := range map[string]string{
				"IsolationFailedAlarm": `{"Namespace": "Firebreak", "MetricName": "IsolationFailed", "Statistic": "Sum", "Period": 300,
					"ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1, "EvaluationPeriods": 1,
					"TreatMissingData": "notBreaching", "AlarmActions": [{"Ref": "` + topicID + `"}]}`,
				"DriftRepairedAlarm": `{"Namespace": "Firebreak", "MetricName": "` + contract.MetricDrift + `", "Statistic": "Sum", "Period": 300,
					"ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1, "EvaluationPeriods": 1,
					"TreatMissingData": "notBreaching", "AlarmActions": [{"Ref": "` + topicID + `"}]}`,
				"LateFindingsAlarm": fmt.Sprintf(`{"Namespace": "Firebreak", "MetricName": "FindingAgeSeconds", "Statistic": "Maximum", "Period": 300,
					"ComparisonOperator": "GreaterThanThreshold", "Threshold": %d, "EvaluationPeriods": 1,
					"TreatMissingData": "notBreaching", "AlarmActions": [{"Ref": "`+topicID+`"}]}`, tt.ageSecs),
			} {
				_, alarm := s.withPrefix(t, "AWS::CloudWatch::Alarm", prefix)
				p := map[string]any{}
				for k, v := range alarm.Properties {
					if k != "AlarmDescription" {
						p[k] = v
					}
				}
				equalJSON(t, prefix, p, want)
				if d, _ := alarm.Properties["AlarmDescription"].(string); !strings.HasPrefix(d, "Firebreak: ") {
					t.Errorf("%s: description %q does not tell the reader what fired", prefix, d)
				}
			}
			if m := metricNames(s); !slices.Contains(m, contract.MetricIsolationFailed) || !slices.Contains(m, contract.MetricFindingAge) {
				t.Errorf("alarm metrics %v", m)
			}
		})
	}
}

func metricNames(s *synthesized) []string {
	var out []string
	for _, id := range s.ofType("AWS::CloudWatch::Alarm") {
		if n, ok := s.resources[id].Properties["MetricName"].(string); ok {
			out = append(out, n)
		}
	}
	return out
}

// dashboard is the synthesized dashboard body, with references rendered as
// ${LogicalId.Attribute} placeholders.
type dashboard struct {
	Start   string   `json:"start"`
	Widgets []widget `json:"widgets"`
}

type widget struct {
	Type       string `json:"type"`
	X, Y       int
	Width      int `json:"width"`
	Height     int `json:"height"`
	Properties struct {
		Title       string   `json:"title"`
		Metrics     [][]any  `json:"metrics"`
		Alarms      []string `json:"alarms"`
		Annotations struct {
			Horizontal []struct {
				Value float64 `json:"value"`
				Label string  `json:"label"`
			} `json:"horizontal"`
		} `json:"annotations"`
		Stat   string `json:"stat"`
		Period int    `json:"period"`
	} `json:"properties"`
}

func dashboardOf(t *testing.T, s *synthesized) (string, dashboard) {
	t.Helper()
	_, d := s.only(t, "AWS::CloudWatch::Dashboard")
	body := render(d.Properties["DashboardBody"])
	var out dashboard
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("dashboard body is not JSON: %v\n%s", err, body)
	}
	return render(d.Properties["DashboardName"]), out
}

// series lists what a widget plots: "namespace/metric[dims] stat" or the
// expression.
func (w widget) series() []string {
	var out []string
	for _, m := range w.Properties.Metrics {
		var parts []string
		var opts map[string]any
		for _, v := range m {
			switch x := v.(type) {
			case string:
				if x != "." && x != "..." {
					parts = append(parts, x)
				}
			case map[string]any:
				opts = x
			}
		}
		if e, ok := opts["expression"].(string); ok {
			out = append(out, e)
			continue
		}
		stat, _ := opts["stat"].(string)
		if stat == "" {
			stat = w.Properties.Stat
		}
		if stat == "" {
			stat = "Average" // CloudWatch's default, which CDK leaves out
		}
		out = append(out, strings.Join(parts, " ")+" "+stat)
	}
	return out
}

func TestDashboardShowsWhatOnCallNeeds(t *testing.T) {
	s := synth(t, nil)
	name, d := dashboardOf(t, s)
	if name != "Firebreak-${AWS::Region}" {
		t.Errorf("dashboard name %q, want one per Region", name)
	}
	byTitle := map[string]widget{}
	for _, w := range d.Widgets {
		byTitle[w.Properties.Title] = w
	}
	want := map[string][]string{
		"Decisions (per 5 minutes)": {
			"Firebreak Contained Sum", "Firebreak IsolationFailed Sum", "Firebreak WouldContain Sum", "Firebreak AlreadyContained Sum",
			"Firebreak Notified Sum", "Firebreak Ignored Sum", "Firebreak HeldByGuard Sum", "Firebreak Released Sum", "Firebreak DriftRepaired Sum"},
		"Time to isolation (ms, from the invocation's start to the final swap's answer)": {
			"Firebreak TimeToIsolationMs p50", "Firebreak TimeToIsolationMs p99"},
		"Failed steps (per 5 minutes)": {`SEARCH('{Firebreak,Step} MetricName="StepFailed"', 'Sum', 300)`},
		"Finding age (s, GuardDuty's update to the invocation)": {
			"Firebreak FindingAgeSeconds Maximum", "Firebreak FindingAgeSeconds p50"},
		"Queue depths (messages)": {
			"AWS/SQS ApproximateNumberOfMessagesVisible QueueName ${ContainFailures.QueueName} Maximum",
			"AWS/SQS ApproximateNumberOfMessagesVisible QueueName ${UndeliveredFindings.QueueName} Maximum"},
		"Contain function": {
			"AWS/Lambda Invocations FunctionName ${Contain} Sum", "AWS/Lambda Errors FunctionName ${Contain} Sum",
			"AWS/Lambda Throttles FunctionName ${Contain} Sum"},
		"AWS calls per containment": {"Firebreak AwsCalls Kind contain Average", "Firebreak AwsCalls Kind contain Maximum"},
	}
	for title, series := range want {
		w, ok := byTitle[title]
		if !ok {
			t.Errorf("no widget %q", title)
			continue
		}
		if got := w.series(); !slices.Equal(got, series) {
			t.Errorf("%s plots\n  %s\nwant\n  %s", title, strings.Join(got, "\n  "), strings.Join(series, "\n  "))
		}
	}
	age := byTitle["Finding age (s, GuardDuty's update to the invocation)"].Properties.Annotations.Horizontal
	if len(age) != 1 || age[0].Value != 900 {
		t.Errorf("finding age widget marks %v, want the alarm threshold 900 s", age)
	}
	alarms := byTitle["Alarms"].Properties.Alarms
	if len(alarms) != len(s.ofType("AWS::CloudWatch::Alarm")) {
		t.Errorf("alarm widget shows %d alarms, the stack has %d", len(alarms), len(s.ofType("AWS::CloudWatch::Alarm")))
	}
	// Decisions are graphed under the names the functions emit.
	for _, m := range []string{contract.MetricContained, contract.MetricIsolationFailed, contract.MetricNotified, contract.MetricIgnored} {
		if !slices.Contains(want["Decisions (per 5 minutes)"], "Firebreak "+m+" Sum") {
			t.Errorf("decisions miss %s", m)
		}
	}
}

// The README's picture of the dashboard is drawn from the synthesized body;
// regenerate it with go test ./infra/stack -run DashboardPicture -update.
func TestDashboardPicture(t *testing.T) {
	_, d := dashboardOf(t, synth(t, nil))
	got := drawDashboard(d)
	path := filepath.Join("testdata", "dashboard.svg")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s (go test -run DashboardPicture -update writes it): %v", path, err)
	}
	if got != string(want) {
		t.Errorf("%s is out of date with the dashboard: run go test ./infra/stack -run DashboardPicture -update", path)
	}
}
