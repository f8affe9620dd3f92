package stack_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/firebreak-ir/firebreak/infra/stack"
	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/contract"
)

// members: two listed member accounts, two Regions, the member stack
// deployed by a StackSet to one OU.
var members = map[string]any{
	"memberAccounts": []any{"222222222222", "333333333333"}, "securityAccountId": "111111111111",
	"regions": []any{"us-east-1", "eu-west-1"}, "memberDeployment": "stackset", "organizationalUnitIds": []any{"ou-ab12-cdef3456"},
}

// orgWide: any account of the organization, one Region, the hard cut on,
// the member stack deployed with make deploy-member.
var orgWide = map[string]any{
	"organization": "true", "organizationId": "o-abcdef1234", "securityAccountId": "111111111111",
	"regions": "us-east-1", "isolationMode": "sg+nacl",
}

func TestParseConfigOrganization(t *testing.T) {
	got, err := stack.ParseConfig(getter(members))
	if err != nil {
		t.Fatal(err)
	}
	want := stack.DefaultConfig()
	want.MemberAccounts, want.SecurityAccountID = []string{"222222222222", "333333333333"}, "111111111111"
	want.Regions, want.MemberDeployment, want.OrganizationalUnitIDs = []string{"us-east-1", "eu-west-1"}, "stackset", []string{"ou-ab12-cdef3456"}
	if !reflect.DeepEqual(got, want) || !got.MultiAccount() {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}

	base := func(more map[string]any) map[string]any {
		m := map[string]any{"securityAccountId": "111111111111", "regions": "us-east-1"}
		for k, v := range more {
			m[k] = v
		}
		return m
	}
	for _, tt := range []struct {
		name    string
		values  map[string]any
		wantErr string
	}{
		{"both a list and the organization", base(map[string]any{"memberAccounts": "222222222222", "organization": true, "organizationId": "o-abcdef1234"}), "set one, not both"},
		{"organization without its id", base(map[string]any{"organization": true}), "organizationId: required with organization=true"},
		{"a bad organization id", base(map[string]any{"organization": true, "organizationId": "abc"}), `"abc" is not an organization id`},
		{"a bad account", base(map[string]any{"memberAccounts": "2222"}), `"2222" is not a 12-digit account id`},
		{"an account twice", base(map[string]any{"memberAccounts": "222222222222,222222222222"}), "listed twice"},
		{"the security account as a member", base(map[string]any{"memberAccounts": "111111111111"}), "is the security account"},
		{"members without the security account", map[string]any{"memberAccounts": "222222222222", "regions": "us-east-1"}, "securityAccountId: required"},
		{"members without Regions", map[string]any{"memberAccounts": "222222222222", "securityAccountId": "111111111111"}, "regions: required"},
		{"a bad Region", base(map[string]any{"regions": "us-east"}), `"us-east" is not a Region name`},
		{"a bad role name", base(map[string]any{"memberAccounts": "222222222222", "memberRoleName": "Firebreak Member"}), "not an IAM role name"},
		{"a StackSet without OUs", base(map[string]any{"memberAccounts": "222222222222", "memberDeployment": "stackset"}), "organizationalUnitIds: required"},
		{"a StackSet without members", base(map[string]any{"memberDeployment": "stackset", "organizationalUnitIds": "ou-ab12-cdef3456"}), "there are no member accounts"},
		{"OUs without a StackSet", base(map[string]any{"memberAccounts": "222222222222", "organizationalUnitIds": "ou-ab12-cdef3456"}), "only read with memberDeployment=stackset"},
		{"a bad OU", base(map[string]any{"memberAccounts": "222222222222", "memberDeployment": "stackset", "organizationalUnitIds": "ou-1"}), `"ou-1" is not an organizational unit`},
		{"an unknown deployment", base(map[string]any{"memberAccounts": "222222222222", "memberDeployment": "terraform"}), `"terraform" is not "cdk" or "stackset"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := stack.ParseConfig(getter(tt.values))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one saying %q", err, tt.wantErr)
			}
		})
	}
}

// A single-account deployment has none of the organization's resources and
// keeps its generated role name, as before.
func TestSingleAccountHasNoOrganizationResources(t *testing.T) {
	s := synth(t, nil)
	if s.member != nil || stack.MemberStackOf(s.app) != nil {
		t.Error("a member stack in a single-account deployment")
	}
	if ids := s.ofType("AWS::CloudFormation::StackSet"); len(ids) > 0 {
		t.Errorf("StackSet %v in a single-account deployment", ids)
	}
	_, role := s.withPrefix(t, "AWS::IAM::Role", "ContainRole")
	if name, ok := role.Properties["RoleName"]; ok {
		t.Errorf("the contain role is named %v; a single-account deployment keeps its generated name", name)
	}
	_, fn := s.withPrefix(t, "AWS::Lambda::Function", "Contain")
	for _, k := range []string{contract.EnvMemberAccounts, contract.EnvOrganization, contract.EnvMemberRole} {
		if v, ok := fn.Properties["Environment"].(map[string]any)["Variables"].(map[string]any)[k]; ok {
			t.Errorf("%s=%v in a single-account deployment", k, v)
		}
	}
	if *s.stack.StackName() != stack.StackName {
		t.Errorf("stack name %s", *s.stack.StackName())
	}
}

// One Firebreak stack per Region, each with its contain role named for the
// Region, the member accounts in its environment, AssumeRole of exactly the
// member roles, the alarm, and a rule that it is deployed in the security
// account.
func TestSecurityStacksPerRegion(t *testing.T) {
	s := synth(t, members)
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		st, ok := s.app.Node().TryFindChild(jsii.String("Firebreak-" + region)).(awscdk.Stack)
		if !ok {
			t.Fatalf("no stack Firebreak-%s", region)
		}
		if *st.StackName() != "Firebreak" || *st.Region() != region {
			t.Errorf("stack %s is %s in %s, want Firebreak in %s", *st.Node().Id(), *st.StackName(), *st.Region(), region)
		}
		tmpl := assertions.Template_FromStack(st, nil)
		check(t, func() {
			tmpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), map[string]any{"RoleName": "firebreak-contain-" + region})
			tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{
				contract.EnvMemberAccounts: "222222222222,333333333333", contract.EnvMemberRole: contract.DefaultMemberRole})}})
		})
	}
	var assume []statement
	for _, st := range statements(s) {
		if st.sid == "AssumeMemberRoles" {
			assume = append(assume, st)
		}
	}
	if len(assume) != 2 || assume[0].policy.owner == assume[1].policy.owner {
		t.Fatalf("AssumeMemberRoles statements %v, want one in the contain role's policy and one in the release role's", assume)
	}
	for _, a := range assume {
		if (a.policy.owner != "ContainRoleDefaultPolicy" && a.policy.owner != "ReleaseRoleDefaultPolicy") || len(a.conditions) != 0 {
			t.Errorf("AssumeMemberRoles in %s with conditions %v", a.policy.owner, a.conditions)
		}
		equalJSON(t, "member roles", a.resources, `["arn:${AWS::Partition}:iam::222222222222:role/FirebreakMember",
		"arn:${AWS::Partition}:iam::333333333333:role/FirebreakMember"]`)
	}
	_, alarm := s.withPrefix(t, "AWS::CloudWatch::Alarm", "MemberRoleMissingAlarm")
	if alarm.Properties["Namespace"] != contract.MetricNamespace || alarm.Properties["MetricName"] != contract.MetricMemberRoleMissing ||
		alarm.Properties["Threshold"] != 1.0 {
		t.Errorf("member role alarm %s", toJSON(alarm.Properties))
	}
	rules, _ := json.Marshal((*s.template.ToJSON())["Rules"])
	if !strings.Contains(string(rules), `{"Fn::Equals":[{"Ref":"AWS::AccountId"},"111111111111"]}`) {
		t.Errorf("no rule that the stack is deployed in the security account: %s", rules)
	}
}

func TestOrganizationModeAssumesRolesOnlyInTheOrganization(t *testing.T) {
	s := synth(t, orgWide)
	for _, st := range statements(s) {
		if st.sid != "AssumeMemberRoles" {
			continue
		}
		equalJSON(t, "member roles", st.resources, `["arn:${AWS::Partition}:iam::*:role/FirebreakMember"]`)
		equalJSON(t, "condition", st.conditions, `{"StringEquals": {"aws:ResourceOrgID": "o-abcdef1234"}}`)
		return
	}
	t.Fatal("no AssumeMemberRoles statement")
}

// The member role: its name, trust in the security account's contain and
// release roles of every Region (and the organization), the Region fence and the
// Deny on changing itself.
func TestMemberStack(t *testing.T) {
	for _, tt := range []struct {
		name      string
		overrides map[string]any
		trust     string
		regions   string
	}{
		{"members", members, `{"ArnEquals": {"aws:PrincipalArn": ["arn:${AWS::Partition}:iam::111111111111:role/firebreak-contain-us-east-1",
			"arn:${AWS::Partition}:iam::111111111111:role/firebreak-release-us-east-1",
			"arn:${AWS::Partition}:iam::111111111111:role/firebreak-contain-eu-west-1",
			"arn:${AWS::Partition}:iam::111111111111:role/firebreak-release-eu-west-1"]}}`, `["us-east-1", "eu-west-1"]`},
		{"organization", orgWide, `{"ArnEquals": {"aws:PrincipalArn": ["arn:${AWS::Partition}:iam::111111111111:role/firebreak-contain-us-east-1",
			"arn:${AWS::Partition}:iam::111111111111:role/firebreak-release-us-east-1"]},
			"StringEquals": {"aws:PrincipalOrgID": "o-abcdef1234"}}`, `["us-east-1"]`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := synth(t, tt.overrides).member
			if m == nil {
				t.Fatal("no member stack")
			}
			if *m.stack.StackName() != stack.MemberStackName {
				t.Errorf("member stack named %s", *m.stack.StackName())
			}
			_, role := m.only(t, "AWS::IAM::Role")
			if role.Properties["RoleName"] != contract.DefaultMemberRole || role.Properties["MaxSessionDuration"] != 3600.0 {
				t.Errorf("member role %s", toJSON(role.Properties))
			}
			trust := statements(&synthesized{resources: map[string]resource{"MemberRole": role}})
			principal := render(role.Properties["AssumeRolePolicyDocument"].(map[string]any)["Statement"].([]any)[0].(map[string]any)["Principal"].(map[string]any)["AWS"])
			if len(trust) != 1 || principal != "arn:${AWS::Partition}:iam::111111111111:root" ||
				!reflect.DeepEqual(trust[0].actions, []string{"sts:AssumeRole"}) || trust[0].effect != "Allow" {
				t.Fatalf("trust %+v of %s, want the security account's root for sts:AssumeRole only", trust, principal)
			}
			equalJSON(t, "trust conditions", rendered(trust[0].conditions), tt.trust)
			for _, st := range statements(m) {
				switch st.sid {
				case "OnlyFirebreakRegions":
					equalJSON(t, "Regions", st.conditions["StringNotEquals"]["aws:RequestedRegion"], tt.regions)
				case "NeverChangeThisRole":
					equalJSON(t, "itself", st.resources, `["arn:${AWS::Partition}:iam::${AWS::AccountId}:role/FirebreakMember"]`)
				}
			}
			tmpl, _ := json.Marshal(m.template.ToJSON())
			artifact := m.app.Synth(nil).GetStackByName(jsii.String(stack.MemberStackName))
			if strings.Contains(string(tmpl), "BootstrapVersion") || artifact.AssumeRoleArn() != nil || artifact.RequiresBootstrapStackVersion() != nil {
				t.Error("the member stack needs the CDK bootstrap; it deploys where there is none (make deploy-member, the StackSet)")
			}
		})
	}
}

// Every action the member role is granted is refused in the Regions
// Firebreak is not deployed in, and every mutation on exempt resources.
func TestMemberRoleIsFencedToFirebreaksRegions(t *testing.T) {
	for _, overrides := range []map[string]any{members, orgWide} {
		fenced := map[string]bool{}
		var granted []string
		for _, st := range statements(synth(t, overrides)) {
			if !strings.HasPrefix(st.policy.owner, "Member/") || st.policy.kind != "identity" {
				continue
			}
			switch {
			case st.sid == "OnlyFirebreakRegions":
				for _, a := range st.actions {
					fenced[a] = true
				}
			case st.effect == "Allow":
				granted = append(granted, st.actions...)
			}
		}
		for _, a := range granted {
			// IAM is global (its requests name us-east-1 whatever the
			// Region): its grants are fenced by resource, not by Region.
			if !fenced[a] && !strings.HasPrefix(a, "iam:") {
				t.Errorf("%s is granted in every Region", a)
			}
		}
	}
}

// The StackSet deploys exactly the member stack's template, from the first
// Region's stack only, to the OUs with service-managed permissions.
func TestMemberStackSet(t *testing.T) {
	s := synth(t, members)
	id, set := s.only(t, "AWS::CloudFormation::StackSet")
	p := map[string]any{}
	for k, v := range set.Properties {
		if k != "TemplateBody" && k != "Description" {
			p[k] = v
		}
	}
	equalJSON(t, id, p, `{"StackSetName": "FirebreakMember", "PermissionModel": "SERVICE_MANAGED", "CallAs": "DELEGATED_ADMIN",
		"AutoDeployment": {"Enabled": true, "RetainStacksOnAccountRemoval": false}, "Capabilities": ["CAPABILITY_NAMED_IAM"],
		"ManagedExecution": {"Active": true},
		"OperationPreferences": {"FailureTolerancePercentage": 10, "MaxConcurrentPercentage": 25, "RegionConcurrencyType": "PARALLEL"},
		"StackInstancesGroup": [{"DeploymentTargets": {"OrganizationalUnitIds": ["ou-ab12-cdef3456"]}, "Regions": ["us-east-1"]}]}`)
	var body any
	if err := json.Unmarshal([]byte(set.Properties["TemplateBody"].(string)), &body); err != nil {
		t.Fatalf("TemplateBody is not a template: %v", err)
	}
	equalJSON(t, "the StackSet's template", body, toJSON(s.member.template.ToJSON()))
	other := assertions.Template_FromStack(s.app.Node().TryFindChild(jsii.String("Firebreak-eu-west-1")).(awscdk.Stack), nil)
	check(t, func() { other.ResourceCountIs(jsii.String("AWS::CloudFormation::StackSet"), jsii.Number(0)) })
	if ids := synth(t, orgWide).ofType("AWS::CloudFormation::StackSet"); len(ids) > 0 {
		t.Errorf("StackSet %v with memberDeployment=cdk", ids)
	}
}

// rendered is v with every CloudFormation function in it rendered as render does.
func rendered(v any) any {
	switch x := v.(type) {
	case map[string]map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = rendered(e)
		}
		return out
	case map[string]any:
		if r := render(x); !strings.HasPrefix(r, "{") {
			return r
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = rendered(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = rendered(e)
		}
		return out
	}
	return v
}

// Every operation the runbook and the release call on EC2, Auto Scaling and
// ELB (the awsapi interfaces) is granted to the contain or the release role,
// and to the member role: a member's instance can be contained and released
// as fully as one of the security account's. (S3 and SNS stay in the
// security account; GetCallerIdentity needs no permission.)
func TestRunbookOperationsAreGrantedToBothRoles(t *testing.T) {
	var operations []string
	for _, svc := range []struct {
		prefix string
		api    reflect.Type
	}{
		{"ec2", reflect.TypeFor[awsapi.EC2]()}, {"autoscaling", reflect.TypeFor[awsapi.AutoScaling]()},
		{"elasticloadbalancing", reflect.TypeFor[awsapi.ELB]()}, {"elasticloadbalancing", reflect.TypeFor[awsapi.ELBV2]()},
		{"iam", reflect.TypeFor[awsapi.IAM]()},
	} {
		for i := range svc.api.NumMethod() {
			operations = append(operations, svc.prefix+":"+svc.api.Method(i).Name)
		}
	}
	for _, tt := range []struct {
		overrides map[string]any
		owners    []string
	}{
		{extended, []string{"ContainRoleDefaultPolicy", "ReleaseRoleDefaultPolicy", "ContainCredentialsPolicy", "ReleaseCredentialsPolicy"}},
		{orgWide, []string{"ContainRoleDefaultPolicy", "ReleaseRoleDefaultPolicy", "ContainCredentialsPolicy", "ReleaseCredentialsPolicy"}},
		{orgWide, []string{"Member/MemberRoleDefaultPolicy", "Member/ReleasePolicy", "Member/CredentialsPolicy", "Member/ReleaseCredentialsPolicy"}},
	} {
		granted := map[string]bool{}
		for _, st := range statements(synth(t, tt.overrides)) {
			if slices.Contains(tt.owners, st.policy.owner) && st.effect == "Allow" {
				for _, a := range st.actions {
					granted[a] = true
				}
			}
		}
		for _, op := range operations {
			if !granted[op] {
				t.Errorf("%v do not grant %s, which the runbook or the release calls", tt.owners, op)
			}
		}
	}
}
