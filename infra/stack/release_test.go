package stack_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

func TestReleaseFunctionRunsTheReleaseBootstrap(t *testing.T) {
	for _, tt := range []struct {
		name      string
		overrides map[string]any
		dryRun    string
		hub       string
	}{{"defaults", nil, "true", "auto"}, {"armed", extended, "false", "cspm"}} {
		t.Run(tt.name, func(t *testing.T) {
			s := synth(t, tt.overrides)
			_, fn := s.withPrefix(t, "AWS::Lambda::Function", "Release")
			topicID, _ := s.only(t, "AWS::SNS::Topic")
			bucketID, _ := s.withPrefix(t, "AWS::S3::Bucket", "Evidence")
			tableID, _ := s.only(t, "AWS::DynamoDB::Table")
			roleID, _ := s.withPrefix(t, "AWS::IAM::Role", "ReleaseRole")
			logsID, _ := s.withPrefix(t, "AWS::Logs::LogGroup", "ReleaseLogs")
			equalJSON(t, "release function", map[string]any{
				"Runtime": fn.Properties["Runtime"], "Architectures": fn.Properties["Architectures"], "Handler": fn.Properties["Handler"],
				"Role": fn.Properties["Role"], "Environment": fn.Properties["Environment"], "LogGroup": fn.Properties["LoggingConfig"].(map[string]any)["LogGroup"],
			}, `{"Runtime": "provided.al2023", "Architectures": ["arm64"], "Handler": "bootstrap",
				"Role": {"Fn::GetAtt": ["`+roleID+`", "Arn"]}, "LogGroup": {"Ref": "`+logsID+`"},
				"Environment": {"Variables": {"`+contract.EnvTopicARN+`": {"Ref": "`+topicID+`"}, "`+contract.EnvEvidenceBucket+`": {"Ref": "`+bucketID+`"},
					"`+contract.EnvAccountID+`": {"Ref": "AWS::AccountId"}, "`+contract.EnvDryRun+`": "`+tt.dryRun+`",
					"`+contract.EnvSecurityHubWriteBack+`": "`+tt.hub+`", "`+contract.EnvGuardTable+`": {"Ref": "`+tableID+`"}}}}`)
		})
	}
}

// No GuardDuty rule, nor any rule but the release action's, invokes the
// release function; the action is off unless asked for.
func TestOnlyAPersonReleases(t *testing.T) {
	for _, tt := range []struct {
		name      string
		overrides map[string]any
		action    bool
	}{{"default: no release action", nil, false}, {"release action on", map[string]any{"securityHubReleaseAction": "true"}, true}} {
		t.Run(tt.name, func(t *testing.T) {
			s := synth(t, tt.overrides)
			releaseID, _ := s.withPrefix(t, "AWS::Lambda::Function", "Release")
			var releasing []string
			for _, id := range s.ofType("AWS::Events::Rule") {
				for _, target := range s.resources[id].Properties["Targets"].([]any) {
					if render(target.(map[string]any)["Arn"]) == "${"+stripHash(releaseID)+".Arn}" {
						releasing = append(releasing, stripHash(id))
					}
				}
			}
			want := []string(nil)
			if tt.action {
				want = []string{"SecurityHubReleaseAction"}
			}
			if fmt.Sprint(releasing) != fmt.Sprint(want) {
				t.Errorf("rules invoking the release function: %v, want %v", releasing, want)
			}
			actions := map[string]map[string]any{}
			for _, id := range s.ofType("AWS::SecurityHub::ActionTarget") {
				p := s.resources[id].Properties
				actions[p["Id"].(string)] = p
			}
			release, ok := actions[contract.ReleaseActionID]
			if ok != tt.action {
				t.Fatalf("release action present %v, want %v", ok, tt.action)
			}
			if _, out := s.outputs["ReleaseActionArn"]; out != tt.action {
				t.Errorf("ReleaseActionArn output present %v, want %v", out, tt.action)
			}
			if tt.action && (release["Name"] != contract.ReleaseActionName || len(contract.ReleaseActionName) > 20 ||
				!regexp.MustCompile(`^[A-Za-z0-9]{1,20}$`).MatchString(contract.ReleaseActionID)) {
				t.Errorf("release action %v: Security Hub wants a name of 1-20 characters and an id of 1-20 alphanumerics", release)
			}
			// Only these rules may invoke it.
			for _, id := range s.ofType("AWS::Lambda::Permission") {
				p := s.resources[id].Properties
				if render(p["FunctionName"]) == "${"+stripHash(releaseID)+".Arn}" && !strings.Contains(render(p["SourceArn"]), "SecurityHubReleaseAction") {
					t.Errorf("%s lets %s invoke the release function", id, render(p["SourceArn"]))
				}
			}
		})
	}
}

// request is one call the release function makes (or must never be able to
// make), as IAM sees it.
type request struct {
	action, resource string
	// tags are the resource's tags; requestTags the tag keys the call writes.
	tags        map[string]string
	requestTags []string
	// context holds other condition keys the call carries (s3:prefix, kms:ViaService).
	context map[string]string
}

// allowed evaluates the release role's statements for a request: an
// explicit Deny wins, else some Allow must match. It understands the
// operators this stack uses.
func allowed(sts []statement, owner string, r request) bool {
	match := func(st statement) bool {
		if st.policy.owner != owner || !contains(st.actions, r.action) {
			return false
		}
		hit := false
		for _, res := range st.resources {
			if res == "*" || globMatch(res, r.resource) {
				hit = true
			}
		}
		if !hit {
			return false
		}
		for op, keys := range st.conditions {
			for k, v := range keys {
				if !conditionHolds(op, k, v, r) {
					return false
				}
			}
		}
		return true
	}
	allow := false
	for _, st := range sts {
		if match(st) {
			if st.effect == "Deny" {
				return false
			}
			allow = true
		}
	}
	return allow
}

// globMatch is IAM's ARN matching: * any run, ? one character, across slashes.
func globMatch(pattern, s string) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	return regexp.MustCompile(re).MatchString(s)
}

func conditionHolds(op, key string, raw any, r request) bool {
	var want []string
	for _, v := range list(raw) {
		want = append(want, render(v))
	}
	value, present := "", false
	var values []string
	switch {
	case strings.HasPrefix(key, "aws:ResourceTag/"):
		value, present = r.tags[strings.TrimPrefix(key, "aws:ResourceTag/")]
	case key == "aws:TagKeys":
		values, present = r.requestTags, len(r.requestTags) > 0
	default:
		value, present = r.context[key]
	}
	if values == nil && present {
		values = []string{value}
	}
	anyMatch := func(v string, like bool) bool {
		for _, w := range want {
			if v == w || like && globMatch(w, v) {
				return true
			}
		}
		return false
	}
	base := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(op, "ForAllValues:"), "ForAnyValue:"), "IfExists")
	like := strings.Contains(base, "Like")
	negated := strings.Contains(base, "Not")
	switch {
	case strings.HasSuffix(op, "IfExists") && !present:
		return true
	case strings.HasPrefix(op, "ForAllValues:"):
		for _, v := range values {
			if !anyMatch(v, like) {
				return false
			}
		}
		return true
	case strings.HasPrefix(op, "ForAnyValue:"):
		for _, v := range values {
			if anyMatch(v, like) {
				return true
			}
		}
		return false
	case negated:
		return !present || !anyMatch(value, like)
	default:
		return present && anyMatch(value, like)
	}
}

func TestReleasePermissionsAreSufficientAndNoWider(t *testing.T) {
	ec2 := func(resource string) string {
		return "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:" + resource
	}
	evidence := "${Evidence.Arn}/${AWS::AccountId}/${AWS::Region}/i-0abc1234def567890/411647294fc69b66beba1f3f7bbbc43d/"
	managed := map[string]string{contract.TagManaged: "true", contract.TagRole: contract.RoleIsolation}
	owner := map[string]string{"team": "web"}
	exempt := map[string]string{contract.TagExempt: "true"}
	viaS3 := map[string]string{"kms:ViaService": "s3.${AWS::Region}.amazonaws.com"}
	needed := []request{
		{action: "ec2:DescribeInstances", resource: "*"},
		{action: "ec2:DescribeInstanceAttribute", resource: "*"},
		{action: "ec2:DescribeNetworkInterfaces", resource: "*"},
		{action: "ec2:DescribeSecurityGroups", resource: "*"},
		{action: "ec2:DescribeNetworkAcls", resource: "*"},
		{action: "ec2:ModifyNetworkInterfaceAttribute", resource: ec2("network-interface/eni-0123456789abcdef0"), tags: owner},
		{action: "ec2:ModifyNetworkInterfaceAttribute", resource: ec2("security-group/sg-0123456789abcdef0"), tags: owner},
		{action: "ec2:ModifyInstanceAttribute", resource: ec2("instance/i-0abc1234def567890"), tags: owner},
		{action: "ec2:ModifyInstanceAttribute", resource: ec2("volume/vol-0123456789abcdef0"), tags: owner},
		{action: "ec2:CreateTags", resource: ec2("instance/i-0abc1234def567890"), tags: owner,
			requestTags: []string{contract.TagStatus, contract.TagReleasedAt, contract.TagReleasedBy, contract.TagReleasedFindings, contract.TagReleasedReason}},
		{action: "ec2:DeleteSecurityGroup", resource: ec2("security-group/sg-0123456789abcdef0"), tags: managed},
		{action: "autoscaling:DescribeAutoScalingGroups", resource: "*"},
		{action: "autoscaling:AttachInstances", resource: "arn:${AWS::Partition}:autoscaling:${AWS::Region}:${AWS::AccountId}:autoScalingGroup:1:autoScalingGroupName/web-asg", tags: owner},
		{action: "elasticloadbalancing:RegisterInstancesWithLoadBalancer", resource: "arn:${AWS::Partition}:elasticloadbalancing:${AWS::Region}:${AWS::AccountId}:loadbalancer/web-classic"},
		{action: "elasticloadbalancing:RegisterTargets", resource: "arn:${AWS::Partition}:elasticloadbalancing:${AWS::Region}:${AWS::AccountId}:targetgroup/web-tg/0123456789abcdef"},
		{action: "s3:GetObject", resource: evidence + "capture.json"},
		{action: "s3:GetObjectVersion", resource: evidence + "capture.json"},
		{action: "s3:ListBucket", resource: "${Evidence.Arn}", context: map[string]string{"s3:prefix": evidence[len("${Evidence.Arn}/"):] + "report-"}},
		{action: "s3:PutObject", resource: evidence + "release-20260115T090000.000Z.json"},
		{action: "kms:Decrypt", resource: "${EvidenceKey.Arn}", context: viaS3},
		{action: "sns:Publish", resource: "${Reports}"},
	}
	refused := []request{
		{action: "ec2:DeleteSecurityGroup", resource: ec2("security-group/sg-0123456789abcdef0"), tags: owner},
		{action: "ec2:ModifyNetworkInterfaceAttribute", resource: ec2("network-interface/eni-0123456789abcdef0"), tags: exempt},
		{action: "ec2:ModifyInstanceAttribute", resource: ec2("instance/i-0abc1234def567890"), tags: exempt},
		{action: "ec2:CreateTags", resource: ec2("instance/i-0abc1234def567890"), requestTags: []string{contract.TagExempt}},
		{action: "ec2:CreateTags", resource: ec2("instance/i-0abc1234def567890"), requestTags: []string{"Name"}},
		{action: "ec2:CreateTags", resource: ec2("security-group/sg-0123456789abcdef0"), tags: managed, requestTags: []string{contract.TagRole}},
		{action: "ec2:AuthorizeSecurityGroupIngress", resource: ec2("security-group/sg-0123456789abcdef0"), tags: managed},
		{action: "ec2:CreateNetworkAclEntry", resource: ec2("network-acl/acl-0123456789abcdef0")},
		{action: "ec2:DeleteSnapshot", resource: "arn:${AWS::Partition}:ec2:${AWS::Region}::snapshot/snap-0123456789abcdef0"},
		{action: "autoscaling:AttachInstances", resource: "arn:${AWS::Partition}:autoscaling:${AWS::Region}:${AWS::AccountId}:autoScalingGroup:1:autoScalingGroupName/web-asg", tags: exempt},
		{action: "autoscaling:UpdateAutoScalingGroup", resource: "arn:${AWS::Partition}:autoscaling:${AWS::Region}:${AWS::AccountId}:autoScalingGroup:1:autoScalingGroupName/web-asg"},
		{action: "s3:PutObject", resource: evidence + "capture.json"},
		{action: "s3:DeleteObject", resource: evidence + "capture.json"},
		{action: "s3:DeleteObjectVersion", resource: evidence + "capture.json"},
		{action: "s3:BypassGovernanceRetention", resource: evidence + "capture.json"},
		{action: "s3:ListBucket", resource: "${Evidence.Arn}", context: map[string]string{"s3:prefix": ""}},
		{action: "kms:Decrypt", resource: "${EvidenceKey.Arn}"},
	}
	for name, tt := range map[string]struct {
		overrides map[string]any
		nacl      bool
	}{"sg": {nil, false}, "sg+nacl": {extended, true}} {
		sts := statements(synth(t, tt.overrides))
		for _, r := range needed {
			if !allowed(sts, "ReleaseRoleDefaultPolicy", r) {
				t.Errorf("%s: the release role cannot %s on %s (tags %v, request tags %v)", name, r.action, r.resource, r.tags, r.requestTags)
			}
		}
		for _, r := range refused {
			if allowed(sts, "ReleaseRoleDefaultPolicy", r) {
				t.Errorf("%s: the release role may %s on %s (tags %v, request tags %v, context %v): it must not", name, r.action, r.resource, r.tags, r.requestTags, r.context)
			}
		}
		acl := request{action: "ec2:DeleteNetworkAclEntry", resource: ec2("network-acl/acl-0123456789abcdef0")}
		if got := allowed(sts, "ReleaseRoleDefaultPolicy", acl); got != tt.nacl {
			t.Errorf("%s: DeleteNetworkAclEntry allowed = %v, want %v (the hard cut exists only in sg+nacl)", name, got, tt.nacl)
		}
		acl.tags = exempt
		if allowed(sts, "ReleaseRoleDefaultPolicy", acl) {
			t.Errorf("%s: DeleteNetworkAclEntry allowed on an exempt ACL", name)
		}
	}
}
