package config

import (
	"slices"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

func TestMembers(t *testing.T) {
	tests := []struct {
		name      string
		vars      map[string]string
		accounts  []string
		org       bool
		role      string
		partition string
		err       string
	}{
		{name: "single account by default", role: contract.DefaultMemberRole, partition: "aws"},
		{name: "a list", vars: map[string]string{contract.EnvMemberAccounts: " 222222222222, 333333333333 ,"},
			accounts: []string{"222222222222", "333333333333"}, role: contract.DefaultMemberRole, partition: "aws"},
		{name: "the organization and a role name", vars: map[string]string{contract.EnvOrganization: "true", contract.EnvMemberRole: "SecOpsResponder"},
			org: true, role: "SecOpsResponder", partition: "aws"},
		{name: "partition from the topic", vars: map[string]string{contract.EnvTopicARN: "arn:aws-us-gov:sns:us-gov-west-1:123456789012:reports"},
			role: contract.DefaultMemberRole, partition: "aws-us-gov"},
		{name: "not an account", vars: map[string]string{contract.EnvMemberAccounts: "22222222222"}, err: `"22222222222" is not a 12-digit account id`},
		{name: "twice", vars: map[string]string{contract.EnvMemberAccounts: "222222222222,222222222222"}, err: "222222222222 is listed twice"},
		{name: "its own account", vars: map[string]string{contract.EnvAccountID: "123456789012", contract.EnvMemberAccounts: "123456789012"},
			err: "the function's own account"},
		{name: "both", vars: map[string]string{contract.EnvOrganization: "true", contract.EnvMemberAccounts: "222222222222"}, err: "not both"},
		{name: "organization typo", vars: map[string]string{contract.EnvOrganization: "yes"}, err: contract.EnvOrganization},
		{name: "role name", vars: map[string]string{contract.EnvMemberRole: "Firebreak Member"}, err: "not an IAM role name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := valid()
			for k, v := range tt.vars {
				m[k] = v
			}
			c, err := FromEnv(env(m))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("want an error saying %q, got %v", tt.err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.MemberAccounts, tt.accounts) || c.Organization != tt.org || c.MemberRole != tt.role || c.Partition() != tt.partition {
				t.Errorf("got accounts %v, organization %v, role %q, partition %q", c.MemberAccounts, c.Organization, c.MemberRole, c.Partition())
			}
		})
	}
}
