package stack_test

import (
	"reflect"
	"strings"
	"testing"

	"maps"
	"time"

	"github.com/firebreak-ir/firebreak/infra/stack"
	"github.com/firebreak-ir/firebreak/internal/config"
	"github.com/firebreak-ir/firebreak/internal/contract"
)

func getter(values map[string]any) func(string) any {
	return func(k string) any { return values[k] }
}

func TestParseConfigReadsCDKJSONAndCommandLineValues(t *testing.T) {
	defaults := stack.DefaultConfig()
	tests := []struct {
		name   string
		values map[string]any
		want   func(c *stack.Config)
	}{
		{name: "nothing set keeps the safe defaults", values: nil, want: func(c *stack.Config) {}},
		{
			name: "JSON values as cdk.json holds them",
			values: map[string]any{
				"notifyMinSeverity": 5.5, "containMinSeverity": 8.0, "dryRun": false,
				"findingTypePrefixes": []any{"Backdoor:EC2/", "CryptoCurrency:EC2/"},
				"isolationMode":       "sg+nacl", "evidenceRetentionDays": 365.0, "objectLockMode": "COMPLIANCE",
				"notifyEmail": "soc@example.com", "logRetentionDays": 731.0, "logLevel": "debug",
				"reservedConcurrency": 10.0, "securityHubAction": false,
			},
			want: func(c *stack.Config) {
				c.NotifyMinSeverity, c.ContainMinSeverity, c.DryRun = 5.5, 8, false
				c.FindingTypePrefixes = []string{"Backdoor:EC2/", "CryptoCurrency:EC2/"}
				c.IsolationMode, c.EvidenceRetentionDays, c.ObjectLockMode = "sg+nacl", 365, "COMPLIANCE"
				c.NotifyEmail, c.LogRetentionDays, c.LogLevel = "soc@example.com", 731, "debug"
				c.ReservedConcurrency, c.SecurityHubAction = 10, false
			},
		},
		{
			name: "strings as cdk -c passes them",
			values: map[string]any{
				"notifyMinSeverity": "6", "containMinSeverity": "9.5", "dryRun": "false",
				"findingTypePrefixes": "Backdoor:EC2/, Trojan:EC2/", "evidenceRetentionDays": "30",
				"objectLockMode": "compliance", "logLevel": "WARN", "securityHubAction": "true",
			},
			want: func(c *stack.Config) {
				c.NotifyMinSeverity, c.ContainMinSeverity, c.DryRun = 6, 9.5, false
				c.FindingTypePrefixes = []string{"Backdoor:EC2/", "Trojan:EC2/"}
				c.EvidenceRetentionDays, c.ObjectLockMode, c.LogLevel = 30, "COMPLIANCE", "warn"
			},
		},
		{
			name:   "a JSON list given with -c",
			values: map[string]any{"findingTypePrefixes": `["Recon:EC2/PortProbe", "UnauthorizedAccess:EC2/"]`},
			want: func(c *stack.Config) {
				c.FindingTypePrefixes = []string{"Recon:EC2/PortProbe", "UnauthorizedAccess:EC2/"}
			},
		},
		{
			name:   "an empty prefix list or email means none",
			values: map[string]any{"findingTypePrefixes": "", "notifyEmail": ""},
			want:   func(c *stack.Config) { c.FindingTypePrefixes = []string{} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := defaults
			tt.want(&want)
			got, err := stack.ParseConfig(getter(tt.values))
			if err != nil {
				t.Fatalf("ParseConfig: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestDefaultConfigIsObserveOnly(t *testing.T) {
	c := stack.DefaultConfig()
	if !c.DryRun || c.IsolationMode != contract.IsolationSG || c.ObjectLockMode != stack.ObjectLockGovernance {
		t.Errorf("defaults must be dry run, security groups only, governance lock; got %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestParseConfigRejectsWhatAWSOrTheFunctionWould(t *testing.T) {
	tests := []struct {
		name    string
		values  map[string]any
		wantErr string
	}{
		{"dry run not a boolean", map[string]any{"dryRun": "yes please"}, `context dryRun: want true or false, got "yes please"`},
		{"severity not a number", map[string]any{"containMinSeverity": "high"}, `context containMinSeverity: want a number, got "high"`},
		{"severity above the scale", map[string]any{"containMinSeverity": 11.0}, "containMinSeverity: 11 is outside GuardDuty's severity scale"},
		{"severity below the scale", map[string]any{"notifyMinSeverity": 0.0}, "notifyMinSeverity: 0 is outside GuardDuty's severity scale"},
		{"notify above contain", map[string]any{"notifyMinSeverity": 8.0, "containMinSeverity": 7.0}, "would never reach it"},
		{"unknown isolation mode", map[string]any{"isolationMode": "nacl"}, `context isolationMode: "nacl" is not "sg" or "sg+nacl"`},
		{"unknown lock mode", map[string]any{"objectLockMode": "LEGAL"}, `context objectLockMode: "LEGAL" is not GOVERNANCE or COMPLIANCE`},
		{"retention of zero days", map[string]any{"evidenceRetentionDays": 0.0}, "evidenceRetentionDays: 0 is outside 1-36500 days"},
		{"fractional retention", map[string]any{"evidenceRetentionDays": "1.5"}, "want a whole number, got 1.5"},
		{"log retention CloudWatch refuses", map[string]any{"logRetentionDays": 100.0}, "CloudWatch Logs accepts only 1, 3, 5, 7"},
		{"bad email", map[string]any{"notifyEmail": "soc-team"}, `context notifyEmail: "soc-team" is not an email address`},
		{"bad prefix", map[string]any{"findingTypePrefixes": []any{"Backdoor EC2"}}, `"Backdoor EC2" is not a GuardDuty finding type prefix`},
		{"duplicate prefix", map[string]any{"findingTypePrefixes": "Trojan:EC2/,Trojan:EC2/"}, `"Trojan:EC2/" is listed twice`},
		{"prefix list of numbers", map[string]any{"findingTypePrefixes": []any{7.0}}, "want a list of non-empty strings"},
		{"unknown log level", map[string]any{"logLevel": "trace"}, `context logLevel: "trace" is not one of debug, info, warn, error`},
		{"no concurrency", map[string]any{"reservedConcurrency": 0.0}, "reservedConcurrency: 0 is outside 1-900"},
		{"empty mode from -c", map[string]any{"isolationMode": " "}, "context isolationMode: empty value"},
		{"sweep every 30 seconds", map[string]any{"verifyEverySeconds": "30"}, "verifyEverySeconds: 30 must be 0 (no sweep) or whole minutes from 60 to 86400 seconds"},
		{"sweep in part minutes", map[string]any{"verifyEverySeconds": 90.0}, "verifyEverySeconds: 90 must be 0 (no sweep) or whole minutes"},
		{"sweep less than daily", map[string]any{"verifyEverySeconds": "172800"}, "verifyEverySeconds: 172800 must be 0"},
		{"late-finding alarm at zero", map[string]any{"findingAgeAlarmMinutes": "0"}, "findingAgeAlarmMinutes: 0 is outside 1-120 minutes"},
		{"late-finding alarm that could never fire", map[string]any{"findingAgeAlarmMinutes": 180.0}, "findingAgeAlarmMinutes: 180 is outside 1-120 minutes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := stack.ParseConfig(getter(tt.values))
			if err == nil {
				t.Fatalf("ParseConfig accepted %v", tt.values)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not say %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseConfigReportsEveryProblemAtOnce(t *testing.T) {
	_, err := stack.ParseConfig(getter(map[string]any{"isolationMode": "vpc", "logLevel": "loud", "dryRun": "maybe"}))
	if err == nil {
		t.Fatal("ParseConfig accepted three bad values")
	}
	// Type errors are reported before validation, which needs typed values.
	if !strings.Contains(err.Error(), "dryRun") {
		t.Errorf("error %q does not name dryRun", err)
	}
	_, err = stack.ParseConfig(getter(map[string]any{"isolationMode": "vpc", "logLevel": "loud"}))
	for _, key := range []string{"isolationMode", "logLevel"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error %v does not name %s", err, key)
		}
	}
}

func TestMisspelledKeysNameTheIntendedKey(t *testing.T) {
	tests := []struct {
		keys    []string
		wantErr string
	}{
		{[]string{"dryRun", "aws:cdk:bundling-stacks", "@aws-cdk/core:target-partitions"}, ""},
		{[]string{"dryrun"}, `context key "dryrun" is not read; did you mean "dryRun"?`},
		{[]string{"IsolationMode", "notifyemail"}, `did you mean "notifyEmail"?`},
	}
	for _, tt := range tests {
		err := stack.MisspelledKeys(tt.keys)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("MisspelledKeys(%v) = %v, want nil", tt.keys, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("MisspelledKeys(%v) = %v, want %q", tt.keys, err, tt.wantErr)
		}
	}
}

func TestEnvironmentIsWhatTheFunctionReads(t *testing.T) {
	c := stack.DefaultConfig()
	c.ContainMinSeverity, c.NotifyMinSeverity, c.DryRun, c.IsolationMode = 8.5, 4, false, contract.IsolationSGNACL
	got := c.Environment("arn:aws:sns:eu-west-1:111122223333:reports", "evidence-bucket", "111122223333")
	want := map[string]string{
		contract.EnvTopicARN:           "arn:aws:sns:eu-west-1:111122223333:reports",
		contract.EnvEvidenceBucket:     "evidence-bucket",
		contract.EnvAccountID:          "111122223333",
		contract.EnvDryRun:             "false",
		contract.EnvContainMinSeverity: "8.5",
		contract.EnvNotifyMinSeverity:  "4",
		contract.EnvIsolation:          "sg+nacl",
		contract.EnvCredentialFindings: "contain",
		// The lock runs as long as the evidence is kept; a cooling-off
		// period exists only in compliance mode.
		contract.EnvSnapshotLockMode:         "governance",
		contract.EnvSnapshotLockDays:         "90",
		contract.EnvSnapshotLockCoolOffHours: "0",
		contract.EnvSecurityHubWriteBack:     "auto",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

// What the stack sets, the function accepts: the guard's settings included.
func TestFunctionAcceptsTheStacksEnvironment(t *testing.T) {
	c := stack.DefaultConfig()
	c.MaxAutomaticContainments, c.GuardWindowMinutes = 25, 15
	env := c.Environment("arn:aws:sns:eu-west-1:111122223333:reports", "evidence-bucket", "111122223333")
	maps.Copy(env, c.GuardEnvironment("Firebreak-Guard1234-ABCD"))
	got, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if got.GuardTable != "Firebreak-Guard1234-ABCD" || got.MaxAutomatic != 25 || got.GuardWindow != 15*time.Minute {
		t.Errorf("function config %+v", got)
	}
}
