package stack_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
)

func TestCdkNagAwsSolutionsFindsNothingUnsuppressed(t *testing.T) {
	for name, overrides := range allConfigs {
		t.Run(name, func(t *testing.T) {
			s := synth(t, overrides)
			stacks := []*synthesized{s}
			if s.member != nil {
				stacks = append(stacks, s.member)
			}
			var messages []string
			for _, st := range stacks {
				check(t, func() {
					annotations := assertions.Annotations_FromStack(st.stack)
					rule := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
					for level, list := range map[string]*[]*cxapi.SynthesisMessage{
						"error":   annotations.FindError(jsii.String("*"), rule),
						"warning": annotations.FindWarning(jsii.String("*"), rule),
					} {
						for _, m := range *list {
							messages = append(messages, fmt.Sprintf("%s %s: %v", level, *m.Id, m.Entry.Data))
						}
					}
				})
			}
			for _, m := range messages {
				t.Error(m)
			}
		})
	}
}

// suppression is one cdk-nag suppression as written into resource metadata.
type suppression struct {
	resource, id, reason string
	appliesTo            []any
}

func suppressions(s *synthesized) []suppression {
	out := suppressionsOf(s.resources)
	if s.member != nil {
		out = append(out, suppressionsOf(s.member.resources)...)
	}
	return out
}

func suppressionsOf(resources map[string]resource) []suppression {
	var out []suppression
	for id, r := range resources {
		nag, _ := r.Metadata["cdk_nag"].(map[string]any)
		for _, raw := range list(nag["rules_to_suppress"]) {
			m := raw.(map[string]any)
			sup := suppression{resource: id, id: fmt.Sprint(m["id"]), reason: fmt.Sprint(m["reason"])}
			sup.appliesTo = list(m["applies_to"])
			out = append(out, sup)
		}
	}
	return out
}

func TestEverySuppressionCarriesItsOwnReason(t *testing.T) {
	for name, overrides := range allConfigs {
		sups := suppressions(synth(t, overrides))
		if len(sups) == 0 {
			t.Fatalf("%s: no suppressions found in the template metadata", name)
		}
		byReason := map[string]string{}
		for _, s := range sups {
			where := fmt.Sprintf("%s: %s on %s", name, s.id, s.resource)
			if len(s.reason) < 60 {
				t.Errorf("%s: reason %q is too short to explain anything", where, s.reason)
			}
			// The same reason may cover the same rule on two like resources
			// (the two failure queues), never two different findings.
			key := s.id + fmt.Sprint(s.appliesTo)
			if other, ok := byReason[s.reason]; ok && other != key && s.id == "AwsSolutions-IAM5" {
				t.Errorf("%s: reason reused for %s and %s", where, other, key)
			}
			byReason[s.reason] = key
			if s.id == "AwsSolutions-IAM5" && len(s.appliesTo) == 0 {
				t.Errorf("%s: IAM5 suppressed for every finding; name the wildcard with appliesTo", where)
			}
		}
	}
}

func TestIAM5SuppressionsNameWildcardsThePolicyHas(t *testing.T) {
	for name, overrides := range allConfigs {
		s := synth(t, overrides)
		resources := map[string]bool{}
		for _, st := range statements(s) {
			for _, r := range st.resources {
				resources[strings.NewReplacer("${AWS::Partition}", "<AWS::Partition>", "${AWS::Region}", "<AWS::Region>",
					"${AWS::AccountId}", "<AWS::AccountId>").Replace(r)] = true
			}
		}
		for _, sup := range suppressions(s) {
			if sup.id != "AwsSolutions-IAM5" {
				continue
			}
			for _, a := range sup.appliesTo {
				finding, ok := a.(string)
				if !ok {
					continue // a regex (the evidence bucket's hashed logical id)
				}
				if !resources[strings.TrimPrefix(finding, "Resource::")] {
					t.Errorf("%s: suppression for %q matches nothing the policy grants: remove it", name, finding)
				}
			}
		}
	}
}
