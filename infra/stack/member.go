package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// MemberStackName is the member stack's name in every member account, and
// the StackSet's.
const MemberStackName = "FirebreakMember"

// memberRoleActions are the IAM actions that would change the member role;
// it is denied all of them on itself, whatever a later grant says.
var memberRoleActions = []string{
	"iam:AttachRolePolicy", "iam:DeleteRole", "iam:DeleteRolePermissionsBoundary", "iam:DeleteRolePolicy",
	"iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:TagRole", "iam:UntagRole",
	"iam:UpdateAssumeRolePolicy", "iam:UpdateRole", "iam:UpdateRoleDescription",
}

// NewMemberStack defines the member role: what the runbook needs in a member
// account (the contain role's own-account grants, in any Region of the
// account), assumable only by the security account's Firebreak function
// roles. It is environment-agnostic and needs no CDK bootstrap: it has no
// assets and deploys with the caller's credentials or as a StackSet.
func NewMemberStack(scope constructs.Construct, cfg Config) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(MemberStackName), &awscdk.StackProps{
		Description: jsii.String(fmt.Sprintf("Firebreak member role: lets Firebreak in %s contain EC2 instances of this account", cfg.SecurityAccountID)),
		Synthesizer: awscdk.NewLegacyStackSynthesizer(),
	})
	trusted := make([]string, 0, len(cfg.Regions)*len(trustedFunctions))
	for _, r := range cfg.Regions {
		for _, f := range trustedFunctions {
			trusted = append(trusted, fmt.Sprintf("arn:%s:iam::%s:role/%s", *awscdk.Aws_PARTITION(), cfg.SecurityAccountID, FunctionRoleName(f, r)))
		}
	}
	// A principal ARN in a trust policy must exist when the policy is written
	// and breaks if the role is recreated; the account with aws:PrincipalArn
	// names the roles without either problem.
	conditions := map[string]any{"ArnEquals": map[string]any{"aws:PrincipalArn": trusted}}
	if cfg.OrganizationID != "" {
		conditions["StringEquals"] = map[string]any{"aws:PrincipalOrgID": cfg.OrganizationID}
	}
	role := awsiam.NewRole(stack, jsii.String("MemberRole"), &awsiam.RoleProps{
		RoleName:    jsii.String(cfg.MemberRoleName),
		Description: jsii.String("Firebreak: the security account's contain and release functions act in this account through this role"),
		AssumedBy:   awsiam.NewAccountPrincipal(jsii.String(cfg.SecurityAccountID)).WithConditions(&conditions),
		// The function asks for 15 minutes; nobody needs more.
		MaxSessionDuration: awscdk.Duration_Hours(jsii.Number(1)),
	})
	for _, s := range memberStatements(cfg) {
		role.AddToPrincipalPolicy(s)
	}
	// The release function undoes containments through the same role; its
	// grants are a policy of their own (statement ids are per policy).
	release := releaseRunbookStatements(cfg, arnScope{region: "*"})
	awsiam.NewPolicy(stack, jsii.String("ReleasePolicy"), &awsiam.PolicyProps{
		Roles: &[]awsiam.IRole{role}, Statements: &release,
	})
	credentialsPolicy(stack, "CredentialsPolicy", role, credentialStatements(cfg, arnScope{region: "*"}), "*")
	credentialsPolicy(stack, "ReleaseCredentialsPolicy", role, releaseCredentialStatements(cfg, arnScope{region: "*"}), "*")
	suppressions := wildcardSuppressions(cfg, "*")
	cdknag.NagSuppressions_AddResourceSuppressionsByPath(stack,
		jsii.String("/"+MemberStackName+"/MemberRole/DefaultPolicy/Resource"), &suppressions, nil)
	releaseSuppressions := releaseWildcardSuppressions(cfg, "*")
	cdknag.NagSuppressions_AddResourceSuppressionsByPath(stack,
		jsii.String("/"+MemberStackName+"/ReleasePolicy/Resource"), &releaseSuppressions, nil)
	awscdk.NewCfnOutput(stack, jsii.String("MemberRoleArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("The role Firebreak assumes in this account"),
		Value:       role.RoleArn(),
	})
	return stack
}

// memberStatements are the member role's permissions: the runbook's grants
// in any Region (one global role serves them all), held to Firebreak's
// Regions, and denied any change to the role itself.
func memberStatements(cfg Config) []awsiam.PolicyStatement {
	s, hardCut := runbookStatements(cfg, arnScope{region: "*"})
	regions := make([]string, len(cfg.Regions))
	copy(regions, cfg.Regions)
	self := fmt.Sprintf("arn:%s:iam::%s:role/%s", *awscdk.Aws_PARTITION(), *awscdk.Aws_ACCOUNT_ID(), cfg.MemberRoleName)
	s = append(s, hardCut...)
	return append(s,
		statement("OnlyFirebreakRegions", awsiam.Effect_DENY, concat(describeActions, []string{"ec2:GetConsoleOutput"}, runbookMutations, naclActions,
			releaseDescribeActions, releaseMutations, naclEntryDelete),
			[]string{"*"}, map[string]any{"StringNotEquals": map[string]any{"aws:RequestedRegion": regions}}),
		statement("NeverChangeThisRole", awsiam.Effect_DENY, memberRoleActions, []string{self}, nil),
	)
}
