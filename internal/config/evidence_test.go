package config

import (
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

func TestEvidenceDefaults(t *testing.T) {
	c, err := FromEnv(env(valid()))
	if err != nil {
		t.Fatal(err)
	}
	want := SnapshotLock{Mode: contract.SnapshotLockGovernance, Days: 90}
	if c.SnapshotLock != want || c.SecurityHub != contract.SecurityHubAuto {
		t.Errorf("defaults: lock %+v, Security Hub %q; want %+v, auto", c.SnapshotLock, c.SecurityHub, want)
	}
}

func TestEvidenceSettings(t *testing.T) {
	tests := []struct {
		name    string
		vars    map[string]string
		want    SnapshotLock
		hub     string
		wantErr string
	}{
		{"compliance with a cooling-off period", map[string]string{contract.EnvSnapshotLockMode: "COMPLIANCE", contract.EnvSnapshotLockDays: "365",
			contract.EnvSnapshotLockCoolOffHours: "72", contract.EnvSecurityHubWriteBack: "v2"}, SnapshotLock{"compliance", 365, 72}, "v2", ""},
		{"compliance, final at once", map[string]string{contract.EnvSnapshotLockMode: "compliance", contract.EnvSnapshotLockCoolOffHours: "0"},
			SnapshotLock{"compliance", 90, 0}, "auto", ""},
		{"no lock", map[string]string{contract.EnvSnapshotLockMode: "none", contract.EnvSecurityHubWriteBack: "off"}, SnapshotLock{"none", 90, 0}, "off", ""},
		{"unknown mode", map[string]string{contract.EnvSnapshotLockMode: "legal-hold"}, SnapshotLock{}, "", contract.EnvSnapshotLockMode + `: "legal-hold" is not one of governance, compliance, none`},
		{"0 days", map[string]string{contract.EnvSnapshotLockDays: "0"}, SnapshotLock{}, "", contract.EnvSnapshotLockDays},
		{"over 100 years", map[string]string{contract.EnvSnapshotLockDays: "36501"}, SnapshotLock{}, "", "from 1 to 36500"},
		{"cooling-off of 73 hours", map[string]string{contract.EnvSnapshotLockMode: "compliance", contract.EnvSnapshotLockCoolOffHours: "73"}, SnapshotLock{}, "", "from 0 to 72"},
		{"cooling-off in governance", map[string]string{contract.EnvSnapshotLockCoolOffHours: "24"}, SnapshotLock{}, "", "exists only in compliance mode"},
		{"unknown write-back", map[string]string{contract.EnvSecurityHubWriteBack: "asff"}, SnapshotLock{}, "", contract.EnvSecurityHubWriteBack},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := valid()
			for k, v := range tc.vars {
				m[k] = v
			}
			c, err := FromEnv(env(m))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || c.SnapshotLock != tc.want || c.SecurityHub != tc.hub {
				t.Errorf("config = %+v, %v; want lock %+v, Security Hub %s", c, err, tc.want, tc.hub)
			}
		})
	}
}
