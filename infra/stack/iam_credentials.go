package stack

import (
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// The credentials step (and its undo) on IAM: read the instance's profile and
// role, keep Firebreak's deny policies under /firebreak/ and attach them to
// instance roles. IAM is global: its ARNs have no Region.

func iamArn(resource string) string {
	return fmt.Sprintf("arn:%s:iam::%s:%s", *awscdk.Aws_PARTITION(), *awscdk.Aws_ACCOUNT_ID(), resource)
}

var (
	denyPolicyActions = []string{"iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:DeletePolicy",
		"iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions"}
	rolePolicyActions = []string{"iam:AttachRolePolicy", "iam:DetachRolePolicy"}
	roleReadActions   = []string{"iam:GetRole", "iam:ListRoleTags", "iam:ListAttachedRolePolicies"}
	// cutCredentials are the contain side's EC2 writes; restoreCredentials the release's.
	cutCredentials     = []string{"ec2:DisassociateIamInstanceProfile", "ec2:ModifyInstanceMetadataOptions"}
	restoreCredentials = []string{"ec2:AssociateIamInstanceProfile", "ec2:ModifyInstanceMetadataOptions"}
)

// protectedRoles are the roles whose policies Firebreak never changes and
// never passes: its own function and member roles, and the CDK bootstrap's.
// The names are patterns because single-account function roles get names
// CloudFormation generates from the stack's name.
func protectedRoles(cfg Config) []string {
	return []string{iamArn("role/" + contract.StackName + "*"), iamArn("role/firebreak-*"), iamArn("role/cdk-*"),
		iamArn("role/" + cfg.MemberRoleName)}
}

// denyPolicyStatements manage the deny policies and their attachment; both
// functions need them (contain adds an instance, release removes it).
func denyPolicyStatements(cfg Config, create bool, extraDenied ...string) []awsiam.PolicyStatement {
	policies := iamArn("policy/firebreak/*")
	managed := map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + contract.TagManaged: "true"}}
	s := []awsiam.PolicyStatement{
		// Defence in depth: the function refuses these roles itself.
		statement("NeverChangeFirebreakOrBootstrapRoles", awsiam.Effect_DENY, concat(rolePolicyActions, extraDenied), protectedRoles(cfg), nil),
		statement("NeverChangeExemptRoles", awsiam.Effect_DENY, concat(rolePolicyActions, extraDenied), []string{"*"},
			map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + contract.TagExempt: "true"}}),
		// The instance's profile and role come from the instance at run time.
		allow("ReadInstanceProfiles", []string{"iam:GetInstanceProfile"}, []string{iamArn("instance-profile/*")}, nil),
		allow("ReadInstanceRoles", roleReadActions, []string{iamArn("role/*")}, nil),
		// Only policies tagged managed (at creation) are versioned or deleted.
		allow("KeepDenyPolicies", denyPolicyActions, []string{policies}, managed),
		// Any instance role, but only Firebreak's deny policies.
		allow("AttachDenyPolicies", rolePolicyActions, []string{iamArn("role/*")},
			map[string]any{"ArnLike": map[string]any{"iam:PolicyARN": iamArn("policy/firebreak/" + contract.DenyPolicyPrefix + "*")}}),
	}
	if create {
		// Created under /firebreak/ and tagged managed, or not at all.
		s = append(s, allow("CreateDenyPolicies", []string{"iam:CreatePolicy", "iam:TagPolicy"}, []string{policies},
			map[string]any{"StringEquals": map[string]any{"aws:RequestTag/" + contract.TagManaged: "true"}}))
	}
	return s
}

// credentialStatements are the contain side: the deny, the profile cut and
// the metadata endpoint off, on instances that are not exempt.
func credentialStatements(cfg Config, sc arnScope) []awsiam.PolicyStatement {
	return append(denyPolicyStatements(cfg, true),
		statement("NeverCutExemptInstances", awsiam.Effect_DENY, cutCredentials, []string{"*"}, exempt()),
		allow("CutInstanceCredentials", cutCredentials, []string{sc.arn("ec2", "instance/*")}, notExempt()))
}

// releaseCredentialStatements are the undo: the deny removed, the recorded
// profile associated again, which passes its role to EC2 (and to nothing else).
func releaseCredentialStatements(cfg Config, sc arnScope) []awsiam.PolicyStatement {
	return append(denyPolicyStatements(cfg, false, "iam:PassRole"),
		statement("NeverRestoreExemptInstances", awsiam.Effect_DENY, restoreCredentials, []string{"*"}, exempt()),
		allow("RestoreInstanceCredentials", restoreCredentials, []string{sc.arn("ec2", "instance/*")}, notExempt()),
		allow("PassInstanceRolesToEC2", []string{"iam:PassRole"}, []string{iamArn("role/*")},
			map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ec2.amazonaws.com"}}))
}

func exempt() map[string]any {
	return map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + contract.TagExempt: "true"}}
}

// credentialsPolicy attaches the credential statements to role as a managed
// policy of their own: a role's inline policies share 10,240 characters,
// which the runbook's grants nearly fill.
func credentialsPolicy(scope constructs.Construct, id string, role awsiam.IRole, statements []awsiam.PolicyStatement, region string) {
	p := awsiam.NewManagedPolicy(scope, jsii.String(id), &awsiam.ManagedPolicyProps{
		Description: jsii.String("Firebreak: contain (or restore) an instance's credentials: deny policies under /firebreak/, its profile, its metadata endpoint"),
		Roles:       &[]awsiam.IRole{role}, Statements: &statements,
	})
	reasons := map[string]string{
		"Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*": "The instance's role is known at run time: only read, and only " +
			"Firebreak's deny policies (iam:PolicyARN) attached or detached; PassRole only to EC2; Firebreak's own, CDK bootstrap and exempt roles denied.",
		"Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:instance-profile/*": "The instance's profile is known at run time: GetInstanceProfile only.",
		"Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:policy/firebreak/*": "Deny policies are created per role at run time, " +
			"under the /firebreak/ path only and tagged firebreak:managed=true, which every other change requires.",
		"Resource::arn:<AWS::Partition>:ec2:" + region + ":<AWS::AccountId>:instance/*": "The instance comes from the finding; exempt instances are denied.",
	}
	also := ""
	if region == "*" {
		also = " The member role serves every Region Firebreak is deployed in."
	}
	var out []*cdknag.NagPackSuppression
	for _, f := range slices.Sorted(maps.Keys(reasons)) {
		out = append(out, &cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String(reasons[f] + also), AppliesTo: &[]any{f}})
	}
	cdknag.NagSuppressions_AddResourceSuppressions(p, &out, jsii.Bool(true))
}
