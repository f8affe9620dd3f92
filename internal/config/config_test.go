package config

import (
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func valid() map[string]string {
	return map[string]string{
		contract.EnvTopicARN:       "arn:aws:sns:us-east-1:123456789012:firebreak-reports",
		contract.EnvEvidenceBucket: "firebreak-evidence-123456789012",
		contract.EnvGuardTable:     "firebreak-guard",
	}
}

func TestLongestNamesAccepted(t *testing.T) {
	m := valid()
	m[contract.EnvTopicARN] = "arn:aws:sns:us-east-1:123456789012:" + strings.Repeat("t", 251) + ".fifo"
	m[contract.EnvEvidenceBucket] = strings.Repeat("b", 63)
	if _, err := FromEnv(env(m)); err != nil {
		t.Fatal(err)
	}
}

func TestDefaults(t *testing.T) {
	c, err := FromEnv(env(valid()))
	if err != nil {
		t.Fatal(err)
	}
	if c.DryRun || c.ContainMin != 7 || c.NotifyMin != 4 || c.Isolation != contract.IsolationSG || c.NACL() || c.AccountID != "" ||
		c.GuardTable != "firebreak-guard" || c.MaxAutomatic != 10 || c.GuardWindow != time.Hour {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestOverrides(t *testing.T) {
	m := valid()
	m[contract.EnvDryRun] = "true"
	m[contract.EnvContainMinSeverity] = "8.5"
	m[contract.EnvNotifyMinSeverity] = "2"
	m[contract.EnvIsolation] = "sg+nacl"
	m[contract.EnvAccountID] = "123456789012"
	m[contract.EnvMaxAutomaticContainment] = "25"
	m[contract.EnvGuardWindowMinutes] = "15"
	c, err := FromEnv(env(m))
	if err != nil {
		t.Fatal(err)
	}
	if !c.DryRun || c.ContainMin != 8.5 || c.NotifyMin != 2 || !c.NACL() || c.AccountID != "123456789012" ||
		c.MaxAutomatic != 25 || c.GuardWindow != 15*time.Minute {
		t.Fatalf("overrides not applied: %+v", c)
	}
}

func TestInvalid(t *testing.T) {
	cases := []struct {
		name, key, value, want string
	}{
		{"missing topic", contract.EnvTopicARN, "", "FIREBREAK_TOPIC_ARN: required"},
		{"topic not an ARN", contract.EnvTopicARN, "firebreak-reports", "not an SNS topic ARN"},
		{"missing bucket", contract.EnvEvidenceBucket, "", "FIREBREAK_EVIDENCE_BUCKET: required"},
		{"bad bucket", contract.EnvEvidenceBucket, "Evidence_Bucket", "not a valid S3 bucket name"},
		{"bucket name too long", contract.EnvEvidenceBucket, strings.Repeat("b", 64), "not a valid S3 bucket name"},
		{"bucket name too short", contract.EnvEvidenceBucket, "bb", "not a valid S3 bucket name"},
		{"topic name too long", contract.EnvTopicARN, "arn:aws:sns:us-east-1:123456789012:" + strings.Repeat("t", 257), "not an SNS topic ARN"},
		{"dry run typo", contract.EnvDryRun, "yes please", contract.EnvDryRun},
		{"severity text", contract.EnvContainMinSeverity, "high", "not a severity"},
		{"severity range", contract.EnvNotifyMinSeverity, "11", "not a severity"},
		{"notify above contain", contract.EnvNotifyMinSeverity, "9", "above FIREBREAK_CONTAIN_MIN_SEVERITY"},
		{"isolation mode", contract.EnvIsolation, "nacl", `"nacl" is not "sg" or "sg+nacl"`},
		{"account", contract.EnvAccountID, "12345", "not a 12-digit account id"},
		{"missing guard table", contract.EnvGuardTable, "", "FIREBREAK_GUARD_TABLE: required"},
		{"bad guard table", contract.EnvGuardTable, "guard table", "not a DynamoDB table name"},
		{"cap zero", contract.EnvMaxAutomaticContainment, "0", "not a whole number from 1 to 1000"},
		{"cap text", contract.EnvMaxAutomaticContainment, "ten", "not a whole number"},
		{"window too long", contract.EnvGuardWindowMinutes, "10081", "not a whole number from 1 to 10080"},
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
	_, err := FromEnv(env(map[string]string{contract.EnvIsolation: "bogus"}))
	for _, want := range []string{contract.EnvTopicARN, contract.EnvEvidenceBucket, contract.EnvIsolation} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}
