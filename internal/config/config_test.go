package config

import (
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func valid() map[string]string {
	return map[string]string{
		"FIREBREAK_TOPIC_ARN":       "arn:aws:sns:us-east-1:123456789012:firebreak-reports",
		"FIREBREAK_EVIDENCE_BUCKET": "firebreak-evidence-123456789012",
	}
}

func TestDefaults(t *testing.T) {
	c, err := FromEnv(env(valid()))
	if err != nil {
		t.Fatal(err)
	}
	if c.DryRun || c.ContainMin != 7 || c.NotifyMin != 4 || c.Isolation != IsolationSG || c.NACL() || c.AccountID != "" {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestOverrides(t *testing.T) {
	m := valid()
	m["FIREBREAK_DRY_RUN"] = "true"
	m["FIREBREAK_CONTAIN_MIN_SEVERITY"] = "8.5"
	m["FIREBREAK_NOTIFY_MIN_SEVERITY"] = "2"
	m["FIREBREAK_ISOLATION"] = "sg+nacl"
	m["FIREBREAK_ACCOUNT_ID"] = "123456789012"
	c, err := FromEnv(env(m))
	if err != nil {
		t.Fatal(err)
	}
	if !c.DryRun || c.ContainMin != 8.5 || c.NotifyMin != 2 || !c.NACL() || c.AccountID != "123456789012" {
		t.Fatalf("overrides not applied: %+v", c)
	}
}

func TestInvalid(t *testing.T) {
	cases := []struct {
		name, key, value, want string
	}{
		{"missing topic", "FIREBREAK_TOPIC_ARN", "", "FIREBREAK_TOPIC_ARN: required"},
		{"topic not an ARN", "FIREBREAK_TOPIC_ARN", "firebreak-reports", "not an SNS topic ARN"},
		{"missing bucket", "FIREBREAK_EVIDENCE_BUCKET", "", "FIREBREAK_EVIDENCE_BUCKET: required"},
		{"bad bucket", "FIREBREAK_EVIDENCE_BUCKET", "Evidence_Bucket", "not a valid S3 bucket name"},
		{"dry run typo", "FIREBREAK_DRY_RUN", "yes please", "FIREBREAK_DRY_RUN"},
		{"severity text", "FIREBREAK_CONTAIN_MIN_SEVERITY", "high", "not a severity"},
		{"severity range", "FIREBREAK_NOTIFY_MIN_SEVERITY", "11", "not a severity"},
		{"notify above contain", "FIREBREAK_NOTIFY_MIN_SEVERITY", "9", "above FIREBREAK_CONTAIN_MIN_SEVERITY"},
		{"isolation mode", "FIREBREAK_ISOLATION", "nacl", `"nacl" is not "sg" or "sg+nacl"`},
		{"account", "FIREBREAK_ACCOUNT_ID", "12345", "not a 12-digit account id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := valid()
			m[tc.key] = tc.value
			_, err := FromEnv(env(m))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error containing %q, got %v", tc.want, err)
			}
		})
	}
}

func TestAllProblemsAtOnce(t *testing.T) {
	_, err := FromEnv(env(map[string]string{"FIREBREAK_ISOLATION": "bogus"}))
	for _, want := range []string{"FIREBREAK_TOPIC_ARN", "FIREBREAK_EVIDENCE_BUCKET", "FIREBREAK_ISOLATION"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}
