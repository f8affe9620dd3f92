package stack_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// policy is one policy document found in the template.
type policy struct {
	owner string // logical id, hash suffix removed
	kind  string // identity, trust, key or resource
	doc   map[string]any
}

// statement is a policy statement with its tokens rendered as ${Name}.
type statement struct {
	policy     policy
	sid        string
	effect     string
	actions    []string
	resources  []string
	principal  string
	conditions map[string]map[string]any
}

func (s statement) String() string {
	return fmt.Sprintf("%s statement %q (%s)", s.policy.owner, s.sid, s.effect)
}

var logicalHash = regexp.MustCompile(`^(.+?)([0-9A-F]{8})$`)

// stripHash removes the 8-character hash CDK appends to logical ids, so the
// allow-list and golden files survive construct moves.
func stripHash(id string) string {
	if m := logicalHash.FindStringSubmatch(id); m != nil {
		return m[1]
	}
	return id
}

// render turns a CloudFormation value into a string: {"Ref": "AWS::Region"}
// becomes ${AWS::Region}, {"Fn::GetAtt": ["Bucket1234ABCD", "Arn"]} becomes
// ${Bucket.Arn}, Fn::Join concatenates.
func render(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if r, ok := x["Ref"].(string); ok {
			return "${" + stripHash(r) + "}"
		}
		if ga, ok := x["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
			return fmt.Sprintf("${%s.%s}", stripHash(ga[0].(string)), ga[1])
		}
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, render(p))
			}
			return strings.Join(parts, j[0].(string))
		}
	}
	raw, _ := json.Marshal(v)
	return string(raw)
}

func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// policies lists every policy of the template and, when the app has one, of
// the member stack (owners prefixed Member/).
func policies(s *synthesized) []policy {
	out := policiesOf(s.resources, "")
	if s.member != nil {
		out = append(out, policiesOf(s.member.resources, "Member/")...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].owner+out[i].kind < out[j].owner+out[j].kind })
	return out
}

func policiesOf(resources map[string]resource, prefix string) []policy {
	var out []policy
	for id, r := range resources {
		owner := prefix + stripHash(id)
		add := func(kind string, doc any) {
			if d, ok := doc.(map[string]any); ok {
				out = append(out, policy{owner: owner, kind: kind, doc: d})
			}
		}
		switch r.Type {
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
			add("identity", r.Properties["PolicyDocument"])
		case "AWS::IAM::Role":
			add("trust", r.Properties["AssumeRolePolicyDocument"])
			for _, p := range list(r.Properties["Policies"]) {
				add("identity", p.(map[string]any)["PolicyDocument"])
			}
		case "AWS::KMS::Key":
			add("key", r.Properties["KeyPolicy"])
		case "AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy", "AWS::S3::BucketPolicy":
			add("resource", r.Properties["PolicyDocument"])
		}
	}
	return out
}

func statements(s *synthesized) []statement {
	var out []statement
	for _, p := range policies(s) {
		for _, raw := range list(p.doc["Statement"]) {
			m := raw.(map[string]any)
			st := statement{policy: p, effect: m["Effect"].(string), conditions: map[string]map[string]any{}}
			st.sid, _ = m["Sid"].(string)
			for _, a := range list(m["Action"]) {
				st.actions = append(st.actions, a.(string))
			}
			for _, r := range list(m["Resource"]) {
				st.resources = append(st.resources, render(r))
			}
			if m["Principal"] != nil {
				st.principal = render(m["Principal"])
			}
			if c, ok := m["Condition"].(map[string]any); ok {
				for op, keys := range c {
					st.conditions[op] = keys.(map[string]any)
				}
			}
			out = append(out, st)
		}
	}
	return out
}

// resourceType names the IAM resource type an ARN pattern denotes for an
// action: the ARN's resource part for service ARNs, or the action's only
// resource type for a reference to one of the stack's own resources.
func resourceType(action, resource string) string {
	if resource == "*" {
		return ""
	}
	if strings.HasPrefix(resource, "arn:") {
		// Pseudo parameters contain colons: replace them before splitting.
		resource = strings.NewReplacer("${AWS::Partition}", "aws", "${AWS::Region}", "region", "${AWS::AccountId}", "account").Replace(resource)
		parts := strings.SplitN(resource, ":", 6)
		if len(parts) == 6 {
			return regexp.MustCompile(`^[A-Za-z0-9-]+`).FindString(parts[5])
		}
	}
	types := iamReference[action].resources
	if len(types) == 1 {
		for t := range types {
			return t
		}
	}
	return "?"
}

// safeWhenAbsent reports whether an operator is true when its key is missing
// from the request: negated operators, ForAllValues and ...IfExists.
func safeWhenAbsent(op string) bool {
	return strings.Contains(op, "Not") || strings.HasPrefix(op, "ForAllValues:") || strings.HasSuffix(op, "IfExists")
}

// keyPattern maps a concrete key to the reference table's form.
func keyPattern(key string) string {
	for _, prefix := range []string{"aws:ResourceTag/", "aws:RequestTag/", "ec2:ResourceTag/", "autoscaling:ResourceTag/"} {
		if strings.HasPrefix(key, prefix) {
			return prefix + "${TagKey}"
		}
	}
	if strings.HasPrefix(key, "kms:EncryptionContext:") {
		return "kms:EncryptionContext:${EncryptionContextKey}"
	}
	for _, format := range []string{"ASFF", "OCSF"} {
		if strings.HasPrefix(key, "securityhub:"+format+"SyntaxPath/") {
			return "securityhub:" + format + "SyntaxPath/${" + format + "SyntaxPath}"
		}
	}
	return key
}

// wildcardAllowList holds every wildcard resource an Allow may name, with the
// actions it may be granted for and why no narrower ARN exists.
var wildcardAllowList = map[string]struct {
	actions []string
	reason  string
}{
	"*": {[]string{"ec2:DescribeInstances", "ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules",
		"ec2:DescribeVolumes", "ec2:DescribeIamInstanceProfileAssociations", "ec2:DescribeNetworkAcls", "ec2:DescribeSnapshots",
		"ec2:DescribeInstanceAttribute", "ec2:DescribeNetworkInterfaces", "ec2:DescribeLockedSnapshots",
		"autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeAutoScalingGroups", "elasticloadbalancing:DescribeLoadBalancers",
		"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"},
		"these actions have no resource-level permissions"},
	"arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*": {[]string{"ec2:GetConsoleOutput",
		"ec2:ModifyNetworkInterfaceAttribute", "ec2:ModifyInstanceAttribute", "ec2:CreateSnapshots", "ec2:CreateTags",
		"ec2:DisassociateIamInstanceProfile", "ec2:AssociateIamInstanceProfile", "ec2:ModifyInstanceMetadataOptions"},
		"the instance comes from the finding"},
	"arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:security-group/*": {[]string{"ec2:CreateSecurityGroup",
		"ec2:CreateTags", "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress",
		"ec2:RevokeSecurityGroupEgress", "ec2:ModifyNetworkInterfaceAttribute", "ec2:DeleteSecurityGroup"},
		"isolation groups are created (and deleted by a release) at run time and scoped by tag; interfaces move between groups"},
	"arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc/*": {[]string{"ec2:CreateSecurityGroup"},
		"the instance's VPC is known at run time"},
	"arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:network-interface/*": {
		[]string{"ec2:ModifyNetworkInterfaceAttribute"}, "the instance's interfaces are known at run time"},
	"arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:subnet/*": {
		[]string{"ec2:ModifyNetworkInterfaceAttribute"}, "the interfaces' subnets are known at run time"},
	"arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:volume/*": {[]string{"ec2:ModifyInstanceAttribute",
		"ec2:CreateSnapshots", "ec2:CreateSnapshot", "ec2:CreateTags"}, "the instance's volumes are known at run time"},
	"arn:${AWS::Partition}:ec2:${AWS::Region}::snapshot/*": {[]string{"ec2:CreateSnapshots", "ec2:CreateSnapshot", "ec2:CreateTags", "ec2:LockSnapshot"},
		"snapshot ids do not exist before creation"},
	"arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:hubv2/*": {[]string{"securityhub:BatchUpdateFindings"},
		"Security Hub names its hub resource when it is enabled"},
	"arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:network-acl/*": {[]string{"ec2:CreateNetworkAclEntry", "ec2:DeleteNetworkAclEntry"},
		"the subnets around the instance are known at run time"},
	"arn:${AWS::Partition}:autoscaling:${AWS::Region}:${AWS::AccountId}:autoScalingGroup:*:autoScalingGroupName/*": {
		[]string{"autoscaling:DetachInstances", "autoscaling:AttachInstances"}, "the instance's group is known at run time"},
	"arn:${AWS::Partition}:elasticloadbalancing:${AWS::Region}:${AWS::AccountId}:loadbalancer/*": {
		[]string{"elasticloadbalancing:DeregisterInstancesFromLoadBalancer", "elasticloadbalancing:RegisterInstancesWithLoadBalancer"},
		"load balancers are found by scanning, or recorded in the evidence"},
	"arn:${AWS::Partition}:elasticloadbalancing:${AWS::Region}:${AWS::AccountId}:targetgroup/*/*": {
		[]string{"elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:RegisterTargets"},
		"target groups are found by scanning, or recorded in the evidence"},
	"${Evidence.Arn}/*": {[]string{"s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"},
		"evidence object keys are chosen per finding; the release function reads the record the instance names"},
	"${Evidence.Arn}/*/release-*.json": {[]string{"s3:PutObject"}, "a release report goes beside the case's evidence"},
	"${Evidence.Arn}/*/capture.json": {[]string{"s3:GetObject", "s3:GetObjectVersion"},
		"a verification reads the capture record of the case the instance's tags name"},
	"${AccessLogs.Arn}/evidence/*": {[]string{"s3:PutObject"}, "S3 log delivery writes the evidence bucket's access logs"},
}

// unconditionedGrants are resource-policy statements that AWS documents
// without a condition, keyed by owner and Sid.
var iamWildcards = map[string]struct {
	actions []string
	reason  string
}{
	"arn:${AWS::Partition}:iam::${AWS::AccountId}:instance-profile/*": {[]string{"iam:GetInstanceProfile"},
		"the instance's profile is known at run time; read only"},
	"arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*": {[]string{"iam:GetRole", "iam:ListRoleTags", "iam:ListAttachedRolePolicies",
		"iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:PassRole"},
		"the instance's role is known at run time: attach and detach only Firebreak's deny policies (iam:PolicyARN), pass only to EC2"},
	"arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/firebreak/*": {[]string{"iam:CreatePolicy", "iam:TagPolicy", "iam:CreatePolicyVersion",
		"iam:DeletePolicyVersion", "iam:DeletePolicy", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions"},
		"deny policies are made per role at run time, under /firebreak/ and tagged firebreak:managed=true"},
}

var unconditionedGrants = map[string]string{
	"TopicKey/AccountIAMPolicies":      "delegates the key to the account's IAM policies, which carry the conditions",
	"EvidenceKey/AccountIAMPolicies":   "delegates the key to the account's IAM policies, which carry the conditions",
	"TopicKey/CloudWatchAlarmsPublish": "CloudWatch publishes alarms through SNS; the documented key statement has no condition",
}

var allConfigs = map[string]map[string]any{"defaults": nil, "extended": extended, "members": members, "organization": orgWide}

func init() {
	// The member role's grants are the contain role's in any Region (held to
	// Firebreak's Regions by a Deny): the same wildcards, for the same reasons.
	for r, entry := range wildcardAllowList {
		// The Security Hub write-back is the security account's only.
		if strings.Contains(r, "${AWS::Region}") && !strings.Contains(r, ":securityhub:") {
			wildcardAllowList[strings.ReplaceAll(r, "${AWS::Region}", "*")] = entry
		}
	}
	for r, entry := range iamWildcards {
		wildcardAllowList[r] = entry
	}
	wildcardAllowList["arn:${AWS::Partition}:iam::*:role/FirebreakMember"] = struct {
		actions []string
		reason  string
	}{[]string{"sts:AssumeRole"}, "with organization=true any account of the organization (aws:ResourceOrgID) may hold a member role"}
}

func TestNoPolicyGrantsWildcardActions(t *testing.T) {
	for name, overrides := range allConfigs {
		for _, st := range statements(synth(t, overrides)) {
			for _, a := range st.actions {
				if !strings.Contains(a, "*") {
					continue
				}
				// A Deny of a whole service over plain HTTP is the TLS-only
				// policy CDK writes; anything else must list its actions.
				tlsOnly := st.effect == "Deny" && a != "*" && strings.HasSuffix(a, ":*") &&
					st.conditions["Bool"]["aws:SecureTransport"] == "false"
				if !tlsOnly {
					t.Errorf("%s: %s grants wildcard action %q", name, st, a)
				}
			}
		}
	}
}

func TestWildcardResourcesAreOnTheAllowList(t *testing.T) {
	used := map[string]bool{}
	for name, overrides := range allConfigs {
		for _, st := range statements(synth(t, overrides)) {
			// "*" in a key policy is the key itself; Deny statements only narrow.
			if st.effect != "Allow" || st.policy.kind == "key" || st.policy.kind == "trust" {
				continue
			}
			for _, r := range st.resources {
				if !strings.Contains(r, "*") {
					continue
				}
				entry, ok := wildcardAllowList[r]
				if !ok {
					t.Errorf("%s: %s: wildcard resource %q is not on the allow-list", name, st, r)
					continue
				}
				used[r] = true
				for _, a := range st.actions {
					if !contains(entry.actions, a) {
						t.Errorf("%s: %s: %q may not be granted on %q (%s)", name, st, a, r, entry.reason)
					}
				}
			}
		}
	}
	for r := range wildcardAllowList {
		if !used[r] {
			t.Errorf("allow-list entry %q is not used by any policy: remove it", r)
		}
	}
}

func TestEveryGrantIsAResourceTypeTheActionKnows(t *testing.T) {
	for name, overrides := range allConfigs {
		for _, st := range statements(synth(t, overrides)) {
			if st.effect != "Allow" || st.policy.kind != "identity" {
				continue
			}
			for _, a := range st.actions {
				ref, ok := iamReference[a]
				if !ok {
					t.Errorf("%s: %s: %q is not in iam_reference_test.go; add it from the Service Authorization Reference", name, st, a)
					continue
				}
				for _, r := range st.resources {
					if typ := resourceType(a, r); ref.resources[typ] == nil {
						t.Errorf("%s: %s: %q is not authorized against resource type %q (%s)", name, st, a, typ, r)
					}
				}
			}
		}
	}
}

func TestWriteActionsCarryAConditionWhereAWSEvaluatesOne(t *testing.T) {
	for name, overrides := range allConfigs {
		for _, st := range statements(synth(t, overrides)) {
			if st.effect != "Allow" {
				continue
			}
			if _, ok := unconditionedGrants[st.policy.owner+"/"+st.sid]; ok {
				continue
			}
			for _, a := range st.actions {
				ref, known := iamReference[a]
				if !known {
					if st.policy.kind == "identity" {
						t.Errorf("%s: %s: %q is not in the reference table", name, st, a)
					}
					continue
				}
				if ref.level != levelWrite && ref.level != levelTagging {
					continue
				}
				// A write on one named resource of this stack is already as
				// narrow as IAM goes; a pattern or a service grant needs a condition.
				narrow := st.policy.kind == "identity"
				for _, r := range st.resources {
					narrow = narrow && !strings.Contains(r, "*")
				}
				if narrow {
					continue
				}
				supported := false
				for _, r := range st.resources {
					if len(ref.resources[resourceType(a, r)]) > 0 {
						supported = true
					}
				}
				if supported && len(st.conditions) == 0 {
					t.Errorf("%s: %s: write action %q on %v has no condition although AWS evaluates some", name, st, a, st.resources)
				}
			}
		}
	}
}

func TestPositiveConditionsUseKeysAWSEvaluates(t *testing.T) {
	for name, overrides := range allConfigs {
		for _, st := range statements(synth(t, overrides)) {
			// In a Deny, a key that is absent only keeps the Deny from applying.
			if st.effect != "Allow" {
				continue
			}
			for op, keys := range st.conditions {
				if safeWhenAbsent(op) {
					continue
				}
				for k := range keys {
					pattern := keyPattern(k)
					if globalKeys[pattern] {
						continue
					}
					for _, a := range st.actions {
						ref, ok := iamReference[a]
						if !ok {
							t.Errorf("%s: %s: %q is not in the reference table", name, st, a)
							continue
						}
						for _, r := range st.resources {
							typ := resourceType(a, r)
							if !contains(ref.resources[typ], pattern) {
								t.Errorf("%s: %s: %s %q is not evaluated for %q on %q: the statement would deny silently",
									name, st, op, k, a, typ)
							}
						}
					}
				}
			}
		}
	}
}

func TestExemptResourcesAreDeniedEveryChange(t *testing.T) {
	for name, overrides := range allConfigs {
		sts := statements(synth(t, overrides))
		denied := map[string]bool{} // by policy owner and action
		for _, st := range sts {
			if st.policy.kind == "identity" && st.effect == "Deny" && len(st.resources) == 1 && st.resources[0] == "*" &&
				st.conditions["StringEquals"]["aws:ResourceTag/firebreak:exempt"] == "true" {
				for _, a := range st.actions {
					denied[st.policy.owner+" "+a] = true
				}
			}
		}
		for _, st := range sts {
			if st.policy.kind != "identity" || st.effect != "Allow" {
				continue
			}
			for _, a := range st.actions {
				service := strings.SplitN(a, ":", 2)[0]
				mutates := iamReference[a].level == levelWrite || iamReference[a].level == levelTagging
				if mutates && (service == "ec2" || service == "autoscaling" || service == "elasticloadbalancing") && !denied[st.policy.owner+" "+a] {
					t.Errorf("%s: %s grants %q but no Deny stops it on resources tagged firebreak:exempt=true", name, st, a)
				}
			}
		}
	}
}

func TestHardCutPermissionOnlyInSGPlusNACLMode(t *testing.T) {
	for name, tt := range map[string]struct {
		overrides map[string]any
		want      bool
	}{"sg": {nil, false}, "sg+nacl": {extended, true}} {
		for action, owner := range map[string]string{"ec2:CreateNetworkAclEntry": "ContainRoleDefaultPolicy", "ec2:DeleteNetworkAclEntry": "ReleaseRoleDefaultPolicy"} {
			granted := false
			for _, st := range statements(synth(t, tt.overrides)) {
				if st.effect == "Allow" && contains(st.actions, action) {
					granted = true
					if st.policy.owner != owner {
						t.Errorf("%s: %s granted to %s, want only %s", name, action, st.policy.owner, owner)
					}
				}
			}
			if granted != tt.want {
				t.Errorf("%s: %s granted = %v, want %v", name, action, granted, tt.want)
			}
		}
	}
}

func TestFunctionPolicyFitsIAMsInlineLimit(t *testing.T) {
	// IAM counts a role's inline policies without white space, after
	// CloudFormation has replaced the tokens: resolve them to long values.
	for _, tt := range []struct {
		s      *synthesized
		policy string
	}{
		{synth(t, extended), "ContainRoleDefaultPolicy"}, {synth(t, orgWide), "ContainRoleDefaultPolicy"},
		{synth(t, members).member, "MemberRoleDefaultPolicy"}, {synth(t, orgWide).member, "MemberRoleDefaultPolicy"},
		{synth(t, extended), "ReleaseRoleDefaultPolicy"},
	} {
		id, p := tt.s.withPrefix(t, "AWS::IAM::Policy", tt.policy)
		raw, _ := json.Marshal(resolve(p.Properties["PolicyDocument"]))
		if len(raw) > 10240 {
			t.Errorf("%s resolves to %d characters; IAM allows 10,240 for a role's inline policies", id, len(raw))
		}
	}
}

// resolve replaces CloudFormation functions with the longest values they
// can take in a commercial Region.
func resolve(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = resolve(e)
		}
		return out
	case map[string]any:
		if r, ok := x["Ref"].(string); ok {
			switch r {
			case "AWS::Partition":
				return "aws-us-gov"
			case "AWS::Region":
				return "ap-southeast-4"
			case "AWS::AccountId":
				return "123456789012"
			}
			return "arn:aws-us-gov:sns:ap-southeast-4:123456789012:Firebreak-" + r + "-ABCDEFGHIJKLMNOP"
		}
		if _, ok := x["Fn::GetAtt"]; ok {
			return "arn:aws-us-gov:service:ap-southeast-4:123456789012:resource/Firebreak-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		}
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			var parts []string
			for _, e := range j[1].([]any) {
				parts = append(parts, fmt.Sprint(resolve(e)))
			}
			return strings.Join(parts, j[0].(string))
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = resolve(e)
		}
		return out
	}
	return v
}

// TestFunctionPolicyGolden keeps the functions' permissions in reviewable
// files: any change to them shows up in the diff.
func TestFunctionPolicyGolden(t *testing.T) {
	for _, tt := range []struct {
		file      string
		overrides map[string]any
		owner     string
	}{
		{"contain-policy.json", nil, "ContainRoleDefaultPolicy"}, {"contain-policy-sg-nacl.json", extended, "ContainRoleDefaultPolicy"},
		{"contain-policy-members.json", members, "ContainRoleDefaultPolicy"}, {"member-policy.json", members, "Member/MemberRoleDefaultPolicy"},
		{"member-policy-organization.json", orgWide, "Member/MemberRoleDefaultPolicy"},
		{"member-release-policy.json", members, "Member/ReleasePolicy"},
		{"release-policy.json", nil, "ReleaseRoleDefaultPolicy"}, {"release-policy-sg-nacl.json", extended, "ReleaseRoleDefaultPolicy"},
	} {
		var out []map[string]any
		for _, st := range statements(synth(t, tt.overrides)) {
			if st.policy.owner != tt.owner {
				continue
			}
			entry := map[string]any{"Sid": st.sid, "Effect": st.effect, "Action": st.actions, "Resource": st.resources}
			if len(st.conditions) > 0 {
				entry["Condition"] = st.conditions
			}
			out = append(out, entry)
		}
		sort.SliceStable(out, func(i, j int) bool { return fmt.Sprint(out[i]["Sid"]) < fmt.Sprint(out[j]["Sid"]) })
		got, _ := json.MarshalIndent(out, "", "  ")
		got = append(got, '\n')
		path := filepath.Join("testdata", tt.file)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("reading %s (run go test ./infra/... -run Golden -update): %v", path, err)
		}
		if string(got) != string(want) {
			t.Errorf("the function's policy differs from %s; review, then rewrite it with -update:\n%s", path, got)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
