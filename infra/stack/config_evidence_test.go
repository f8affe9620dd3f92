package stack_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/infra/stack"
	"github.com/firebreak-ir/firebreak/internal/config"
)

func TestEvidenceKeysReachTheFunction(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]any
		want   config.SnapshotLock
		hub    string
	}{
		{"defaults", nil, config.SnapshotLock{Mode: "governance", Days: 90}, "auto"},
		// The cooling-off period is for compliance mode only: in governance it is not passed on.
		{"governance keeps no cooling-off", map[string]any{"snapshotLockCoolOffHours": 12.0}, config.SnapshotLock{Mode: "governance", Days: 90}, "auto"},
		{"compliance as cdk.json or -c writes it", map[string]any{"snapshotLockMode": "COMPLIANCE", "snapshotLockCoolOffHours": "72",
			"evidenceRetentionDays": "3650", "securityHubWriteBack": "V2"}, config.SnapshotLock{Mode: "compliance", Days: 3650, CoolOffHours: 72}, "v2"},
		{"compliance, final at once", map[string]any{"snapshotLockMode": "compliance", "snapshotLockCoolOffHours": 0.0},
			config.SnapshotLock{Mode: "compliance", Days: 90}, "auto"},
		{"no lock, no write-back", map[string]any{"snapshotLockMode": "none", "securityHubWriteBack": "off"}, config.SnapshotLock{Mode: "none", Days: 90}, "off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := stack.ParseConfig(getter(tt.values))
			if err != nil {
				t.Fatal(err)
			}
			env := c.Environment("arn:aws:sns:us-east-1:123456789012:reports", "evidence-bucket", "123456789012")
			maps.Copy(env, c.GuardEnvironment("guard-table"))
			fn, err := config.FromEnv(func(k string) string { return env[k] })
			if err != nil {
				t.Fatalf("the function refuses the stack's environment: %v", err)
			}
			if fn.SnapshotLock != tt.want || fn.SecurityHub != tt.hub {
				t.Errorf("function reads lock %+v, Security Hub %q; want %+v, %q", fn.SnapshotLock, fn.SecurityHub, tt.want, tt.hub)
			}
		})
	}
}

func TestEvidenceKeysRefused(t *testing.T) {
	for name, tt := range map[string]struct {
		values  map[string]any
		wantErr string
	}{
		"unknown lock mode":         {map[string]any{"snapshotLockMode": "legal-hold"}, `context snapshotLockMode: "legal-hold" is not one of governance, compliance, none`},
		"cooling-off over 72 hours": {map[string]any{"snapshotLockCoolOffHours": 73.0}, "snapshotLockCoolOffHours: 73 is outside 0-72 hours"},
		"fractional cooling-off":    {map[string]any{"snapshotLockCoolOffHours": "1.5"}, "want a whole number"},
		"unknown write-back":        {map[string]any{"securityHubWriteBack": "asff"}, `context securityHubWriteBack: "asff" is not one of auto, cspm, v2, off`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := stack.ParseConfig(getter(tt.values))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
	if err := stack.MisspelledKeys([]string{"securityhubWriteBack"}); err == nil || !strings.Contains(err.Error(), `did you mean "securityHubWriteBack"`) {
		t.Errorf("a misspelt key is not caught: %v", err)
	}
}
