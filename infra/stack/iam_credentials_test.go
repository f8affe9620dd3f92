package stack_test

import (
	"strings"
	"testing"
)

// The credential grants are enough for the step and its undo, and refused
// beyond them: only Firebreak's deny policies, never Firebreak's own, CDK's or
// exempt roles, PassRole only to EC2, policies only under /firebreak/.
func TestCredentialGrantsAreScoped(t *testing.T) {
	for name, overrides := range allConfigs {
		sts := statements(synth(t, overrides))
		owners := 0
		for _, st := range sts {
			if !strings.HasSuffix(st.policy.owner, "CredentialsPolicy") {
				continue
			}
			owners++
			for _, a := range st.actions {
				if st.effect != "Allow" {
					continue
				}
				switch a {
				case "iam:AttachRolePolicy", "iam:DetachRolePolicy":
					if got := render(st.conditions["ArnLike"]["iam:PolicyARN"]); got != "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/firebreak/firebreak-deny-*" {
						t.Errorf("%s: %s: %s is not held to Firebreak's deny policies (iam:PolicyARN = %v)", name, st, a, got)
					}
				case "iam:PassRole":
					if got := st.conditions["StringEquals"]["iam:PassedToService"]; got != "ec2.amazonaws.com" {
						t.Errorf("%s: %s: PassRole to %v, want EC2 only", name, st, got)
					}
				case "iam:CreatePolicy":
					if st.conditions["StringEquals"]["aws:RequestTag/firebreak:managed"] != "true" {
						t.Errorf("%s: %s: CreatePolicy without the managed tag", name, st)
					}
				}
				for _, r := range st.resources {
					if strings.Contains(r, ":policy/") && !strings.HasSuffix(r, ":policy/firebreak/*") {
						t.Errorf("%s: %s: %s on %s, outside /firebreak/", name, st, a, r)
					}
				}
			}
		}
		if owners == 0 {
			t.Fatalf("%s: no credentials policy in the template", name)
		}
		// Each credentials policy denies its role changes on the protected
		// roles and on exempt roles, whatever else it allows.
		for _, owner := range credentialOwners(sts) {
			var protected, exempt bool
			for _, st := range sts {
				if st.policy.owner != owner || st.effect != "Deny" || !contains(st.actions, "iam:AttachRolePolicy") {
					continue
				}
				if st.conditions["StringEquals"]["aws:ResourceTag/firebreak:exempt"] == "true" {
					exempt = true
				}
				want := []string{":role/Firebreak*", ":role/firebreak-*", ":role/cdk-*", ":role/FirebreakMember"}
				all := true
				for _, w := range want {
					found := false
					for _, r := range st.resources {
						found = found || strings.HasSuffix(r, w)
					}
					all = all && found
				}
				protected = protected || all
			}
			if !protected || !exempt {
				t.Errorf("%s: %s: protected roles denied %v, exempt roles denied %v", name, owner, protected, exempt)
			}
		}
	}
}

func credentialOwners(sts []statement) []string {
	var out []string
	for _, st := range sts {
		if strings.HasSuffix(st.policy.owner, "CredentialsPolicy") && !contains(out, st.policy.owner) {
			out = append(out, st.policy.owner)
		}
	}
	return out
}
