package stack

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecurityhub"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// The writes a release makes. Like the contain function's, each is denied
// on a resource tagged firebreak:exempt=true.
var (
	releaseEC2Actions = []string{"ec2:ModifyNetworkInterfaceAttribute", "ec2:ModifyInstanceAttribute", "ec2:CreateTags", "ec2:DeleteSecurityGroup"}
	naclEntryDelete   = []string{"ec2:DeleteNetworkAclEntry"}
	attachActions     = []string{"autoscaling:AttachInstances"}
	registerLB        = []string{"elasticloadbalancing:RegisterInstancesWithLoadBalancer"}
	registerTarget    = []string{"elasticloadbalancing:RegisterTargets"}
)

// releaseDescribeActions have no resource-level permissions: they need "*".
var releaseDescribeActions = []string{
	"ec2:DescribeInstances", "ec2:DescribeInstanceAttribute", "ec2:DescribeSecurityGroups", "ec2:DescribeNetworkInterfaces",
	"ec2:DescribeNetworkAcls", "autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeAutoScalingGroups",
	"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTargetHealth",
}

// ReleaseDir is where the release function's code is, beside the contain
// function's: functions/release for a source tree, dist/release beside a
// prebuilt dist/contain.
func ReleaseDir(containDir string) string { return filepath.Join(filepath.Dir(containDir), "release") }

// newReleaseFunction creates the release function, its own role and log
// group. No GuardDuty rule targets it: it runs only when a person asks (the
// console, the CLI, or the Security Hub release action when enabled).
func newReleaseFunction(scope constructs.Construct, cfg Config, functionDir string, env map[string]string, refs policyRefs) awslambda.Function {
	logGroup := awslogs.NewLogGroup(scope, jsii.String("ReleaseLogs"), &awslogs.LogGroupProps{
		Retention:     cfg.LogRetention(),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	role := awsiam.NewRole(scope, jsii.String("ReleaseRole"), &awsiam.RoleProps{
		RoleName:    functionRoleName(scope, cfg, "release"),
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Firebreak release function: undoes a containment from its verified evidence when a person asks"),
	})
	refs.logGroupArn = *logGroup.LogGroupArn()
	for _, s := range releaseStatements(cfg, refs) {
		role.AddToPrincipalPolicy(s)
	}
	credentialsPolicy(scope, "ReleaseCredentialsPolicy", role, releaseCredentialStatements(cfg, ownRegion()), "<AWS::Region>")
	code := cfg
	if cfg.BootstrapDir != "" {
		code.BootstrapDir = ReleaseDir(cfg.BootstrapDir)
	}
	// Retried like a containment when the Security Hub action sent it; a
	// retry repeats nothing that succeeded.
	return awslambda.NewFunction(scope, jsii.String("Release"), goFunctionProps(cfg,
		"Firebreak: releases a contained EC2 instance from its verified evidence, when a person asks",
		functionCode(code, ReleaseDir(functionDir)), role, env, logGroup))
}

// releaseRunbookStatements are the release's writes on EC2, Auto Scaling and
// ELB in the account it acts in: for the release role in its own account
// and for the member role in each member (sc says which Region its ARNs
// name). It can put interfaces back in their groups and attributes back,
// delete only the groups Firebreak made, remove hard-cut entries (sg+nacl
// only) and register the instance with its group and load balancers, never
// on anything tagged firebreak:exempt=true.
func releaseRunbookStatements(cfg Config, sc arnScope) []awsiam.PolicyStatement {
	ec2Arn := func(resource string) string { return sc.arn("ec2", resource) }
	instances, volumes := ec2Arn("instance/*"), ec2Arn("volume/*")
	groups, enis, subnets := ec2Arn("security-group/*"), ec2Arn("network-interface/*"), ec2Arn("subnet/*")
	s := []awsiam.PolicyStatement{
		statement("NeverChangeExemptResources", awsiam.Effect_DENY, concat(releaseMutations, naclEntryDelete), []string{"*"},
			map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + contract.TagExempt: "true"}}),
		statement("NeverWriteTheExemptTag", awsiam.Effect_DENY, []string{"ec2:CreateTags"}, []string{"*"},
			map[string]any{"ForAnyValue:StringEquals": map[string]any{"aws:TagKeys": contract.TagExempt}}),
		statement("NeverDeleteSnapshots", awsiam.Effect_DENY, []string{"ec2:DeleteSnapshot", "ec2:DeregisterImage"}, []string{"*"}, nil),

		allow("DescribeForRelease", releaseDescribeActions, []string{"*"}, nil),
		// Interfaces go back to their recorded groups (any group not exempt).
		allow("RestoreInterfaces", []string{"ec2:ModifyNetworkInterfaceAttribute"}, []string{enis, instances, subnets, groups}, notExempt()),
		allow("RestoreAttributes", []string{"ec2:ModifyInstanceAttribute"}, []string{instances, volumes}, notExempt()),
		allow("TagReleasedInstances", []string{"ec2:CreateTags"}, []string{instances}, map[string]any{
			"ForAllValues:StringLike": map[string]any{"aws:TagKeys": contract.TagPrefix + "*"},
			"StringNotEquals":         map[string]any{"aws:ResourceTag/" + contract.TagExempt: "true"},
		}),
		// Only Firebreak's own isolation groups can go.
		allow("DeleteManagedGroups", []string{"ec2:DeleteSecurityGroup"}, []string{groups}, managedGroup()),

		allow("AttachToAutoScalingGroups", attachActions,
			[]string{sc.arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/*")}, notExempt()),
		allow("RegisterWithClassicLoadBalancers", registerLB, []string{sc.arn("elasticloadbalancing", "loadbalancer/*")}, notExempt()),
		allow("RegisterWithTargetGroups", registerTarget, []string{sc.arn("elasticloadbalancing", "targetgroup/*/*")}, notExempt()),
	}
	// The hard-cut entries exist only in sg+nacl mode; IAM has no condition
	// on an entry, so the ACL (not exempt) is as narrow as a grant goes.
	if cfg.IsolationMode == contract.IsolationSGNACL {
		s = append(s, allow("RemoveHardCutEntries", naclEntryDelete, []string{ec2Arn("network-acl/*")}, notExempt()))
	}
	return s
}

// releaseMutations are the release's write actions but the hard cut's.
var releaseMutations = concat(releaseEC2Actions, attachActions, registerLB, registerTarget, restoreCredentials)

// releaseStatements is the release function's whole permission set: the
// release's writes in its own account and Region, then what it reads and
// writes in the security account: the evidence (read only, never deleted),
// its report beside it, the topic, its logs.
func releaseStatements(cfg Config, refs policyRefs) []awsiam.PolicyStatement {
	region := *awscdk.Aws_REGION()
	s := append(releaseRunbookStatements(cfg, ownRegion()),
		// Nothing below grants these; the Deny makes it so whatever is added later.
		statement("NeverDeleteEvidence", awsiam.Effect_DENY, []string{"s3:DeleteObject", "s3:DeleteObjectVersion",
			"s3:PutObjectRetention", "s3:PutObjectLegalHold", "s3:BypassGovernanceRetention", "s3:PutLifecycleConfiguration"},
			[]string{refs.bucketArn, refs.bucketArn + "/*"}, nil),
		allow("WriteOwnLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, []string{refs.logGroupArn}, nil),
		allow("PublishReports", []string{"sns:Publish"}, []string{refs.topicArn}, nil),
		// Only the role-lock items of the ledger (internal/ledger/rolelock.go).
		allow("RoleLocks", []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, []string{refs.guardTableArn},
			map[string]any{"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": contract.RoleLockKind + "#*"}}),
		allow("EncryptReports", []string{"kms:GenerateDataKey", "kms:Decrypt"}, []string{refs.topicKeyArn},
			map[string]any{"StringEquals": map[string]any{"kms:ViaService": "sns." + region + ".amazonaws.com"}}),
		// The record is read at the version the instance names; the reports
		// beside it are listed under the case's prefix, in this Region.
		allow("ReadEvidence", []string{"s3:GetObject", "s3:GetObjectVersion"}, []string{refs.bucketArn + "/*"}, nil),
		allow("ListCaseReports", []string{"s3:ListBucket"}, []string{refs.bucketArn},
			map[string]any{"StringLike": map[string]any{"s3:prefix": evidencePrefixes(cfg, region)}}),
		// Its own report goes beside the evidence, as release-<time>.json only.
		allow("StoreReleaseReports", []string{"s3:PutObject"}, []string{refs.bucketArn + "/*/release-*.json"}, map[string]any{
			"StringEqualsIfExists": map[string]any{
				"s3:x-amz-server-side-encryption":                "aws:kms",
				"s3:x-amz-server-side-encryption-aws-kms-key-id": refs.evidenceKeyArn,
			},
		}),
		allow("DecryptEvidence", []string{"kms:Decrypt", "kms:GenerateDataKey"}, []string{refs.evidenceKeyArn},
			map[string]any{"StringEquals": map[string]any{"kms:ViaService": "s3." + region + ".amazonaws.com"}}),
	)
	// The release's note on the finding, as the contain function writes hers.
	s = append(s, writeBackStatements(cfg)...)
	if cfg.MultiAccount() {
		s = append(s, assumeMemberRoles(cfg))
	}
	return s
}

// evidencePrefixes are the key prefixes of the evidence the release may
// list: this account's in this Region, and each member's when it serves
// members (the evidence of every account is kept in the security account).
func evidencePrefixes(cfg Config, region string) []string {
	accounts := []string{*awscdk.Aws_ACCOUNT_ID()}
	switch {
	case cfg.Organization:
		accounts = []string{"*"}
	default:
		accounts = append(accounts, cfg.MemberAccounts...)
	}
	out := make([]string, len(accounts))
	for i, a := range accounts {
		out[i] = a + "/" + region + "/*"
	}
	return out
}

// releaseEnvironment is what the release function reads at start-up.
// It is the contain function's without what only a containment uses (the
// thresholds, the isolation mode, the snapshot lock): the same topic,
// bucket, dry run, Security Hub write-back and member accounts.
func releaseEnvironment(cfg Config, topicArn, bucketName, account string) map[string]string {
	env := cfg.Environment(topicArn, bucketName, account)
	for _, k := range []string{contract.EnvContainMinSeverity, contract.EnvNotifyMinSeverity, contract.EnvIsolation, contract.EnvCredentialFindings,
		contract.EnvSnapshotLockMode, contract.EnvSnapshotLockDays, contract.EnvSnapshotLockCoolOffHours} {
		delete(env, k)
	}
	return env
}

// newReleaseAction adds the Security Hub custom action a person chooses to
// release the instances of the selected findings, and its rule to the
// release function. It returns the action's ARN.
func newReleaseAction(scope constructs.Construct, fn awslambda.IFunction, dlq awssqs.IQueue) *string {
	action := awssecurityhub.NewCfnActionTarget(scope, jsii.String("ReleaseAction"), &awssecurityhub.CfnActionTargetProps{
		Id:          jsii.String(contract.ReleaseActionID),
		Name:        jsii.String(contract.ReleaseActionName),
		Description: jsii.String("Release with Firebreak: undo the containment of the EC2 instance in the selected findings, from its verified evidence"),
	})
	rule := awsevents.NewRule(scope, jsii.String("SecurityHubReleaseAction"), &awsevents.RuleProps{
		Description: jsii.String("Firebreak: the Security Hub release action to the release function"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.securityhub"),
			DetailType: jsii.Strings("Security Hub Findings - Custom Action"),
			Resources:  &[]*string{action.AttrActionTargetArn()},
		},
	})
	rule.AddTarget(&lambdaTarget{rule: rule, fn: fn, dlq: dlq})
	return action.AttrActionTargetArn()
}

// releaseWildcardReasons explains every wildcard resource in the release
// function's policy, keyed by cdk-nag's rendering of it. The instance to
// release, and everything around it, is named by the request at run time.
var releaseWildcardReasons = map[string]string{
	"Resource::*": "The ec2, autoscaling and elasticloadbalancing Describe* actions in DescribeForRelease have no resource-level " +
		"permissions, so IAM accepts only \"*\"; they are read-only. The Deny statements also use \"*\" to cover every resource.",
	"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*": "The instance to release is named by the " +
		"request at run time; attribute changes, interface moves and firebreak:* tags require it not to be tagged firebreak:exempt=true.",
	"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*": "The instance's interfaces go back to " +
		"their recorded groups; they are known only at run time and interfaces tagged firebreak:exempt=true are refused.",
	"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:subnet/*": "ModifyNetworkInterfaceAttribute also authorizes " +
		"the interface's subnet, known only at run time; subnets tagged firebreak:exempt=true are refused.",
	"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:security-group/*": "Interfaces go back to the owner's groups " +
		"recorded in the evidence (any group not tagged firebreak:exempt=true); DeleteSecurityGroup requires the group to carry " +
		"firebreak:managed=true, so only Firebreak's isolation groups can be deleted.",
	"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:volume/*": "DeleteOnTermination goes back to its captured " +
		"value on the instance's volumes, known only at run time; volumes tagged firebreak:exempt=true are refused.",
	releaseNACLWildcard: "In sg+nacl mode the hard cut's deny entries are removed from the network ACLs around the instance, known only " +
		"at run time. IAM has no condition on an ACL entry, so the grant cannot be narrowed to Firebreak's entries: the function removes " +
		"only entries its reports record as added and that still match exactly; ACLs tagged firebreak:exempt=true are refused.",
	"Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/*": "The " +
		"instance's recorded group is known only at run time; groups tagged firebreak:exempt=true are refused, and the function " +
		"attaches only within the group's maximum.",
	"Resource::arn:<AWS::Partition>:elasticloadbalancing:<AWS::Region>:<AWS::AccountId>:loadbalancer/*": "The instance's recorded " +
		"classic load balancers are known only at run time; load balancers tagged firebreak:exempt=true are refused.",
	"Resource::arn:<AWS::Partition>:elasticloadbalancing:<AWS::Region>:<AWS::AccountId>:targetgroup/*/*": "The instance's recorded " +
		"target groups are known only at run time; target groups tagged firebreak:exempt=true are refused.",
}

// releaseWildcardSuppressions are the reasons for the release grants'
// wildcards, naming region as the grants do ("*" in the member role, which
// one global role serves in every Region held by its OnlyFirebreakRegions Deny).
func releaseWildcardSuppressions(cfg Config, region string) []*cdknag.NagPackSuppression {
	also := ""
	if region == "*" {
		also = " The member role serves every Region Firebreak is deployed in; the OnlyFirebreakRegions Deny refuses all others."
	}
	var out []*cdknag.NagPackSuppression
	for _, f := range slices.Sorted(maps.Keys(releaseWildcardReasons)) {
		if f == releaseNACLWildcard && cfg.IsolationMode != contract.IsolationSGNACL {
			continue
		}
		out = append(out, &cdknag.NagPackSuppression{
			Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String(releaseWildcardReasons[f] + also),
			AppliesTo: &[]any{strings.ReplaceAll(f, "<AWS::Region>", region)},
		})
	}
	return out
}

const releaseNACLWildcard = "Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-acl/*"

// Evidence object patterns of the release role: every object (read, and
// the Deny), and the release reports it writes.
const (
	releaseEvidenceObjects = `/^Resource::<Evidence[0-9A-F]{8}\.Arn>\/\*$/g`
	releaseReportObjects   = `/^Resource::<Evidence[0-9A-F]{8}\.Arn>\/\*\/release-\*\.json$/g`
)

// suppressReleaseFindings records, with a reason each, the cdk-nag findings
// of the release role that this design accepts on purpose.
func suppressReleaseFindings(stack awscdk.Stack, cfg Config) {
	suppressions := []*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-IAM5"), AppliesTo: &[]any{cdknag.RegexAppliesTo{Regex: jsii.String(releaseEvidenceObjects)}},
			Reason: jsii.String("The record and reports to read are chosen by the instance's tags at run time; the grant is s3:GetObject and " +
				"s3:GetObjectVersion only, on this stack's bucket, and a Deny forbids deleting or unlocking any of its objects.")},
		{Id: jsii.String("AwsSolutions-IAM5"), AppliesTo: &[]any{cdknag.RegexAppliesTo{Regex: jsii.String(releaseReportObjects)}},
			Reason: jsii.String("The release report goes beside the case's evidence, whose key is known at run time; only keys ending in /release-*.json may be written.")},
	}
	suppressions = append(suppressions, releaseWildcardSuppressions(cfg, "<AWS::Region>")...)
	suppressions = append(suppressions, memberRoleSuppressions(cfg)...)
	if writesV2(cfg) {
		suppressions = append(suppressions, &cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String(wildcardReasons[hubV2Wildcard]), AppliesTo: &[]any{hubV2Wildcard}})
	}
	cdknag.NagSuppressions_AddResourceSuppressionsByPath(stack,
		jsii.String("/"+*stack.Node().Id()+"/ReleaseRole/DefaultPolicy/Resource"), &suppressions, nil)
}
