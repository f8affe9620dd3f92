package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// The write actions the runbook performs on EC2, Auto Scaling and ELB
// resources. Every one of them is denied on a resource tagged
// firebreak:exempt=true.
var (
	securityGroupRuleActions = []string{
		"ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
		"ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress",
	}
	interfaceActions = []string{"ec2:ModifyNetworkInterfaceAttribute", "ec2:ModifyInstanceAttribute"}
	snapshotActions  = []string{"ec2:CreateSnapshots", "ec2:CreateSnapshot"}
	naclActions      = []string{"ec2:CreateNetworkAclEntry"}
	detachActions    = []string{"autoscaling:DetachInstances"}
	deregisterLB     = []string{"elasticloadbalancing:DeregisterInstancesFromLoadBalancer"}
	deregisterTarget = []string{"elasticloadbalancing:DeregisterTargets"}
)

// describeActions have no resource-level permissions in IAM: they need "*".
var describeActions = []string{
	"ec2:DescribeInstances", "ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules",
	"ec2:DescribeVolumes", "ec2:DescribeIamInstanceProfileAssociations", "ec2:DescribeNetworkAcls",
	"ec2:DescribeSnapshots", "ec2:DescribeInstanceAttribute", "ec2:DescribeLockedSnapshots", "autoscaling:DescribeAutoScalingInstances",
	"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTargetGroups",
	"elasticloadbalancing:DescribeTargetHealth",
}

// policyRefs are the stack's own resources the function writes to.
type policyRefs struct {
	topicArn, topicKeyArn, bucketArn, evidenceKeyArn, logGroupArn, onFailureArn string
	guardTableArn                                                               string
}

// arn builds an ARN in this stack's partition, Region and account.
func arn(service, resource string) string { return ownRegion().arn(service, resource) }

// arnScope is the Region the runbook's grants name: the stack's own (the
// contain role), or "*" (the member role, which one global role serves in
// every Region Firebreak is deployed in, held there by a Deny).
type arnScope struct{ region string }

func ownRegion() arnScope { return arnScope{region: *awscdk.Aws_REGION()} }

func (sc arnScope) arn(service, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", *awscdk.Aws_PARTITION(), service, sc.region, *awscdk.Aws_ACCOUNT_ID(), resource)
}

func statement(sid string, effect awsiam.Effect, actions, resources []string, conditions map[string]any) awsiam.PolicyStatement {
	props := &awsiam.PolicyStatementProps{
		Sid:       jsii.String(sid),
		Effect:    effect,
		Actions:   jsii.Strings(actions...),
		Resources: jsii.Strings(resources...),
	}
	if conditions != nil {
		props.Conditions = &conditions
	}
	return awsiam.NewPolicyStatement(props)
}

func allow(sid string, actions, resources []string, conditions map[string]any) awsiam.PolicyStatement {
	return statement(sid, awsiam.Effect_ALLOW, actions, resources, conditions)
}

// notExempt matches resources without firebreak:exempt=true. A negated
// operator is true when the key is absent, so it never silently denies a
// resource type that does not carry aws:ResourceTag.
func notExempt() map[string]any {
	return map[string]any{"StringNotEquals": map[string]any{"aws:ResourceTag/" + contract.TagExempt: "true"}}
}

func managedGroup() map[string]any {
	return map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + contract.TagManaged: "true"}}
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// functionStatements is the contain function's whole permission set: the
// runbook's grants in its own account and Region, then what it writes in the
// security account (logs, failures, reports, evidence).
func functionStatements(cfg Config, refs policyRefs) []awsiam.PolicyStatement {
	region := *awscdk.Aws_REGION()
	s, hardCut := runbookStatements(cfg, ownRegion())
	s = append(s,
		// The log group ARN ends in ":*", which covers its log streams.
		allow("WriteOwnLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, []string{refs.logGroupArn}, nil),
		// Lambda's on-failure destination sends with the function's role.
		allow("ReportFailedInvocations", []string{"sqs:SendMessage"}, []string{refs.onFailureArn}, nil),
		allow("PublishReports", []string{"sns:Publish"}, []string{refs.topicArn}, nil),
		// The guard's tokens and the record of reports: the item actions
		// internal/ledger uses, on its table alone (no index, no stream).
		allow("GuardTable", guardTableActions, []string{refs.guardTableArn}, nil),
		allow("EncryptReports", []string{"kms:GenerateDataKey", "kms:Decrypt"}, []string{refs.topicKeyArn},
			map[string]any{"StringEquals": map[string]any{"kms:ViaService": "sns." + region + ".amazonaws.com"}}),
		// The bucket encrypts with its key by default; the function may not ask
		// for weaker encryption or another key.
		allow("StoreEvidence", []string{"s3:PutObject"}, []string{refs.bucketArn + "/*"}, map[string]any{
			"StringEqualsIfExists": map[string]any{
				"s3:x-amz-server-side-encryption":                "aws:kms",
				"s3:x-amz-server-side-encryption-aws-kms-key-id": refs.evidenceKeyArn,
			},
		}),
		allow("EncryptEvidence", []string{"kms:GenerateDataKey"}, []string{refs.evidenceKeyArn},
			map[string]any{"StringEquals": map[string]any{"kms:ViaService": "s3." + region + ".amazonaws.com"}}),
		// Verifying a contained instance reads its capture record (the target
		// groups it was taken out of): that object alone, through S3.
		allow("ReadCaptureRecords", []string{"s3:GetObject", "s3:GetObjectVersion"}, []string{refs.bucketArn + "/*/capture.json"}, nil),
		allow("DecryptCaptureRecords", []string{"kms:Decrypt"}, []string{refs.evidenceKeyArn},
			map[string]any{"StringEquals": map[string]any{"kms:ViaService": "s3." + region + ".amazonaws.com"}}),
	)
	s = append(s, hardCut...)
	s = append(s, writeBackStatements(cfg)...)
	if cfg.MultiAccount() {
		s = append(s, assumeMemberRoles(cfg))
	}
	return s
}

// runbookStatements are what the runbook needs on EC2, Auto Scaling and ELB
// in the account it acts in, for the contain role in its own account and
// for the member role in each member: one definition for both. Each
// condition key was checked against the Service Authorization Reference for
// the action and resource type it guards; iam_test.go re-checks them.
// hardCut is the network-ACL grant, only in sg+nacl mode.
func runbookStatements(cfg Config, sc arnScope) (s, hardCut []awsiam.PolicyStatement) {
	ec2Arn := func(resource string) string { return sc.arn("ec2", resource) }
	instances, volumes := ec2Arn("instance/*"), ec2Arn("volume/*")
	groups, enis, subnets := ec2Arn("security-group/*"), ec2Arn("network-interface/*"), ec2Arn("subnet/*")
	// EBS snapshot ARNs have an empty account field.
	snapshots := fmt.Sprintf("arn:%s:ec2:%s::snapshot/*", *awscdk.Aws_PARTITION(), sc.region)

	s = []awsiam.PolicyStatement{
		// Defence in depth: the function skips exempt instances itself; this
		// makes AWS refuse even if it did not.
		statement("NeverChangeExemptResources", awsiam.Effect_DENY, concat(runbookMutations, naclActions), []string{"*"},
			map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + contract.TagExempt: "true"}}),
		statement("NeverWriteTheExemptTag", awsiam.Effect_DENY, []string{"ec2:CreateTags"}, []string{"*"},
			map[string]any{"ForAnyValue:StringEquals": map[string]any{"aws:TagKeys": contract.TagExempt}}),

		allow("DescribeForEvidence", describeActions, []string{"*"}, nil),
		allow("ReadConsoleOutput", []string{"ec2:GetConsoleOutput"}, []string{instances}, nil),

		// Isolation groups: created only with firebreak:managed=true and tagged
		// only at creation; only groups so tagged can have rules edited, so the
		// function cannot open anyone else's group. Interfaces may be moved to
		// any group not exempt: when isolation fails half-way the runbook puts
		// them back in their own groups. ModifyInstanceAttribute gets no group:
		// the runbook changes groups per interface only.
		allow("CreateManagedGroups", []string{"ec2:CreateSecurityGroup"}, []string{groups}, map[string]any{
			"StringEquals":            map[string]any{"aws:RequestTag/" + contract.TagManaged: "true"},
			"ForAllValues:StringLike": map[string]any{"aws:TagKeys": []string{contract.TagPrefix + "*", "Name"}},
		}),
		allow("CreateGroupsInVpcs", []string{"ec2:CreateSecurityGroup"}, []string{ec2Arn("vpc/*")}, notExempt()),
		allow("TagGroupsAtCreation", []string{"ec2:CreateTags"}, []string{groups},
			map[string]any{"StringEquals": map[string]any{"ec2:CreateAction": "CreateSecurityGroup"}}),
		allow("EditManagedGroupRules", securityGroupRuleActions, []string{groups}, managedGroup()),
		allow("MoveInterfacesBetweenGroups", []string{"ec2:ModifyNetworkInterfaceAttribute"}, []string{groups}, notExempt()),
		// Each action lists only the resource types IAM authorizes it against.
		allow("ModifyInterfaces", []string{"ec2:ModifyNetworkInterfaceAttribute"}, []string{enis, instances, subnets}, notExempt()),
		allow("ModifyInstances", []string{"ec2:ModifyInstanceAttribute"}, []string{instances, volumes}, notExempt()),

		allow("SnapshotInstances", []string{"ec2:CreateSnapshots"}, []string{instances, volumes, snapshots}, notExempt()),
		allow("SnapshotVolumes", []string{"ec2:CreateSnapshot"}, []string{volumes, snapshots}, notExempt()),
		allow("TagSnapshotsAtCreation", []string{"ec2:CreateTags"}, []string{snapshots},
			map[string]any{"StringEquals": map[string]any{"ec2:CreateAction": []string{"CreateSnapshots", "CreateSnapshot"}}}),
		allow("TagContainedResources", []string{"ec2:CreateTags"}, []string{instances, volumes, snapshots}, map[string]any{
			"ForAllValues:StringLike": map[string]any{"aws:TagKeys": contract.TagPrefix + "*"},
			"StringNotEquals":         map[string]any{"aws:ResourceTag/" + contract.TagExempt: "true"},
		}),
		allow("TagManagedGroups", []string{"ec2:CreateTags"}, []string{groups}, map[string]any{
			"ForAllValues:StringLike": map[string]any{"aws:TagKeys": contract.TagPrefix + "*"},
			"StringEquals":            map[string]any{"aws:ResourceTag/" + contract.TagManaged: "true"},
		}),

		allow("DetachFromAutoScalingGroups", detachActions,
			[]string{sc.arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/*")}, notExempt()),
		allow("DeregisterFromClassicLoadBalancers", deregisterLB,
			[]string{sc.arn("elasticloadbalancing", "loadbalancer/*")}, notExempt()),
		allow("DeregisterFromTargetGroups", deregisterTarget,
			[]string{sc.arn("elasticloadbalancing", "targetgroup/*/*")}, notExempt()),
	}
	s = append(s, lockStatements(cfg, snapshots)...)
	// The hard cut writes into subnets' network ACLs: granted only when chosen.
	if cfg.IsolationMode == contract.IsolationSGNACL {
		hardCut = append(hardCut, allow("HardCutNetworkAcls", naclActions, []string{ec2Arn("network-acl/*")}, notExempt()))
	}
	return s, hardCut
}

// runbookMutations are the runbook's write actions but the hard cut's.
var runbookMutations = concat(securityGroupRuleActions, interfaceActions, snapshotActions, lockActions,
	[]string{"ec2:CreateSecurityGroup", "ec2:CreateTags"}, detachActions, deregisterLB, deregisterTarget, cutCredentials)

// keyAccountActions is what the account's IAM policies may grant on a key:
// administration plus the data-key use S3, SNS and readers of evidence need.
// It is listed instead of kms:* so the key never delegates actions nobody uses.
var keyAccountActions = []string{
	"kms:CancelKeyDeletion", "kms:CreateAlias", "kms:Decrypt", "kms:DeleteAlias", "kms:DescribeKey",
	"kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:Encrypt",
	"kms:GenerateDataKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListGrants",
	"kms:ListKeyPolicies", "kms:ListKeyRotations", "kms:ListResourceTags", "kms:PutKeyPolicy",
	"kms:RevokeGrant", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion", "kms:TagResource",
	"kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription",
}

// keyPolicy delegates the key to the account's IAM policies; services that
// act without an IAM identity of this account (CloudWatch alarms) are added.
func keyPolicy(extra ...awsiam.PolicyStatement) awsiam.PolicyDocument {
	root := awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AccountIAMPolicies"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewAccountRootPrincipal()},
		Actions:    jsii.Strings(keyAccountActions...),
		Resources:  jsii.Strings("*"),
	})
	statements := append([]awsiam.PolicyStatement{root}, extra...)
	return awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &statements})
}

// alarmsPublish lets CloudWatch alarms publish to the encrypted report topic:
// SNS asks KMS for a data key on the alarm's behalf.
func alarmsPublish() awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"),
		Resources:  jsii.Strings("*"),
	})
}
