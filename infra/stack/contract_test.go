package stack_test

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/config"
	"github.com/firebreak-ir/firebreak/internal/contract"
)

// The names CloudFormation gives the stack's resources, as it generates them
// (stack name, logical id, a random suffix; bucket names in lower case), and
// the pseudo parameters, for one account and Region.
func physical(t *testing.T, s *synthesized, v any) string {
	t.Helper()
	ref, _ := v.(map[string]any)["Ref"].(string)
	switch {
	case ref == "AWS::AccountId":
		return "123456789012"
	case ref == "AWS::Region":
		return "eu-west-1"
	}
	r, ok := s.resources[ref]
	switch {
	case !ok:
		t.Fatalf("the function's environment holds %v, which this test cannot resolve", v)
	case r.Type == "AWS::SNS::Topic":
		return "arn:aws:sns:eu-west-1:123456789012:Firebreak-" + ref + "-Q1W2E3R4T5Y6"
	case r.Type == "AWS::S3::Bucket":
		return strings.ToLower("firebreak-" + ref + "-q1w2e3r4t5y6")
	case r.Type == "AWS::DynamoDB::Table":
		return "Firebreak-" + ref + "-Q1W2E3R4T5Y6"
	}
	t.Fatalf("the function's environment refers to a %s (%s), which this test cannot name", r.Type, ref)
	return ""
}

// Every setting the README documents, with each value at least once: the
// environment the stack gives the function is one config.FromEnv accepts,
// meaning what the setting says, and every variable it sets is one the
// function reads.
func TestTheFunctionAcceptsTheEnvironmentTheStackGivesIt(t *testing.T) {
	combos := []struct {
		name      string
		overrides map[string]any
		want      config.Config
	}{
		{"cdk.json as committed", nil, config.Config{DryRun: true, ContainMin: 7, NotifyMin: 4, Isolation: "sg"}},
		{"armed, hard cut, every other setting changed", extended, config.Config{ContainMin: 8, NotifyMin: 5.5, Isolation: "sg+nacl",
			SnapshotLock: config.SnapshotLock{Mode: contract.SnapshotLockCompliance, Days: 365, CoolOffHours: 48}, SecurityHub: contract.SecurityHubCSPM}},
		{"armed, lowest thresholds", map[string]any{"dryRun": false, "notifyMinSeverity": 1, "containMinSeverity": 1},
			config.Config{ContainMin: 1, NotifyMin: 1, Isolation: "sg"}},
		{"dry run, hard cut, highest thresholds", map[string]any{"isolationMode": "sg+nacl", "notifyMinSeverity": "10", "containMinSeverity": "10"},
			config.Config{DryRun: true, ContainMin: 10, NotifyMin: 10, Isolation: "sg+nacl"}},
		{"member accounts, own role name", map[string]any{"memberAccounts": []any{"222222222222", "333333333333"}, "memberRoleName": "IRResponder",
			"securityAccountId": "123456789012", "regions": []any{"eu-west-1"}},
			config.Config{DryRun: true, ContainMin: 7, NotifyMin: 4, Isolation: "sg", MemberAccounts: []string{"222222222222", "333333333333"}, MemberRole: "IRResponder"}},
		{"credential findings contain the credentials only", map[string]any{"credentialFindings": "credentials-only"},
			config.Config{DryRun: true, ContainMin: 7, NotifyMin: 4, Isolation: "sg", CredentialFindings: contract.CredentialFindingsOnly}},
		{"a raised guard cap, a shorter window", map[string]any{"maxAutomaticContainments": 25, "guardWindowMinutes": "30"},
			config.Config{DryRun: true, ContainMin: 7, NotifyMin: 4, Isolation: "sg", MaxAutomatic: 25, GuardWindow: 30 * time.Minute}},
		{"the whole organization", map[string]any{"organization": true, "organizationId": "o-abcdef1234",
			"securityAccountId": "123456789012", "regions": []any{"eu-west-1"}},
			config.Config{DryRun: true, ContainMin: 7, NotifyMin: 4, Isolation: "sg", Organization: true}},
	}
	for _, tc := range combos {
		t.Run(tc.name, func(t *testing.T) {
			s := synth(t, tc.overrides)
			// The release function reads the same settings but the
			// containment's thresholds, mode and snapshot lock, which it gets
			// by default.
			release := tc.want
			release.ContainMin, release.NotifyMin, release.Isolation = 7, 4, contract.IsolationSG
			release.SnapshotLock = config.SnapshotLock{Mode: contract.SnapshotLockGovernance, Days: 90}
			release.MaxAutomatic, release.GuardWindow = 0, 0
			release.CredentialFindings = contract.CredentialFindingsContain
			for prefix, want := range map[string]config.Config{"Contain": tc.want, "Release": release} {
				_, fn := s.withPrefix(t, "AWS::Lambda::Function", prefix)
				vars, _ := fn.Properties["Environment"].(map[string]any)["Variables"].(map[string]any)
				env := map[string]string{}
				for k, v := range vars {
					if str, ok := v.(string); ok {
						env[k] = str
					} else {
						env[k] = physical(t, s, v)
					}
				}
				read := map[string]bool{}
				load := config.FromEnv
				if prefix == "Release" {
					load = config.ReleaseFromEnv
				}
				cfg, err := load(func(k string) string { read[k] = true; return env[k] })
				if err != nil {
					t.Fatalf("the %s function refuses the stack's environment %v: %v", prefix, env, err)
				}
				if want.MemberRole == "" {
					want.MemberRole = contract.DefaultMemberRole
				}
				want.TopicARN, want.EvidenceBucket, want.AccountID = env[contract.EnvTopicARN], env[contract.EnvEvidenceBucket], "123456789012"
				if want.SnapshotLock.Mode == "" {
					want.SnapshotLock = config.SnapshotLock{Mode: contract.SnapshotLockGovernance, Days: 90}
				}
				if want.SecurityHub == "" {
					want.SecurityHub = contract.SecurityHubAuto
				}
				if want.CredentialFindings == "" {
					want.CredentialFindings = contract.CredentialFindingsContain
				}
				// The release reads the table for its role locks; only the
				// contain function is guarded.
				want.GuardTable = env[contract.EnvGuardTable]
				if prefix == "Contain" {
					if want.MaxAutomatic == 0 {
						want.MaxAutomatic, want.GuardWindow = contract.DefaultMaxAutomaticContainments, contract.DefaultGuardWindowMinutes*time.Minute
					}
				}
				if !reflect.DeepEqual(cfg, want) {
					t.Errorf("the %s function reads %+v, want %+v", prefix, cfg, want)
				}
				for _, k := range slices.Sorted(maps.Keys(env)) {
					if !read[k] {
						t.Errorf("the stack sets %s for the %s function, which it never reads", k, prefix)
					}
				}
				if want.TopicARN == "" || want.EvidenceBucket == "" {
					t.Errorf("environment %v lacks the topic or the bucket", fmt.Sprint(env))
				}
			}
		})
	}
}
