package stack

import (
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// The tag conditions the reasons cite, spelled as the policies write them.
const (
	exemptTag  = contract.TagExempt + "=true"
	managedTag = contract.TagManaged + "=true"
	ownTags    = contract.TagPrefix + "*"
)

// wildcardReasons explains every wildcard resource in the contain function's
// policy, keyed by cdk-nag's rendering of it. Instances, groups and the rest
// are chosen by findings at run time, so they cannot be named at deploy time;
// each grant is narrowed by the conditions given in the reason instead.
var wildcardReasons = map[string]string{
	"Resource::*": "The ec2, autoscaling and elasticloadbalancing Describe* actions in DescribeForEvidence have no " +
		"resource-level permissions, so IAM accepts only \"*\"; they are read-only. The two Deny statements also use \"*\" to cover every resource.",
	"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*": "The flagged instance is named by the finding at run " +
		"time. Console output is read-only; attribute changes, snapshots and " + ownTags + " tags require the instance not to be tagged " + exemptTag + ".",
	"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:security-group/*": "Isolation groups are created per VPC at run time. " +
		"Creation requires the request tag " + managedTag + "; rule edits and later tags require the group to carry it. Interfaces move " +
		"into the isolation groups, or back to their own groups if isolation fails half-way; groups tagged " + exemptTag + " are refused.",
	"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:vpc/*": "CreateSecurityGroup authorizes the VPC of the flagged " +
		"instance, known only at run time; VPCs tagged " + exemptTag + " are refused.",
	"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*": "The flagged instance's interfaces are " +
		"moved to the isolation group; they are known only at run time and interfaces tagged " + exemptTag + " are refused.",
	"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:subnet/*": "ModifyNetworkInterfaceAttribute also authorizes the " +
		"interface's subnet, known only at run time; subnets tagged " + exemptTag + " are refused.",
	"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:volume/*": "The flagged instance's EBS volumes are snapshotted, " +
		"tagged and kept on termination; they are known only at run time and volumes tagged " + exemptTag + " are refused.",
	"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>::snapshot/*": "Snapshot ids do not exist before CreateSnapshots runs; tagging " +
		"is allowed at creation (ec2:CreateAction) or with " + ownTags + " keys only; LockSnapshot only on snapshots carrying " +
		"firebreak:case-id, for exactly the configured duration (ec2:SnapshotLockDuration).",
	hubV2Wildcard: "Security Hub names its hubv2 resource itself when it is enabled, so its id is not known at deploy time. " +
		"BatchUpdateFindings is allowed only with no status or NOTIFIED (ASFF) / In Progress, 2 (OCSF): Firebreak can " +
		"neither resolve, suppress nor archive a finding.",
	naclWildcard: "In sg+nacl mode the deny entries go into the " +
		"network ACLs of the subnets around the instance, known only at run time; ACLs tagged " + exemptTag + " are refused.",
	"Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/*": "The " +
		"instance's Auto Scaling group is found at run time with DescribeAutoScalingInstances; groups tagged " + exemptTag + " are refused.",
	"Resource::arn:<AWS::Partition>:elasticloadbalancing:<AWS::Region>:<AWS::AccountId>:loadbalancer/*": "Classic Load Balancers " +
		"serving the instance are found at run time by scanning; load balancers tagged " + exemptTag + " are refused.",
	"Resource::arn:<AWS::Partition>:elasticloadbalancing:<AWS::Region>:<AWS::AccountId>:targetgroup/*/*": "Target groups holding the " +
		"instance or its addresses are found at run time by scanning; target groups tagged " + exemptTag + " are refused.",
}

// evidenceObjects matches the evidence bucket's objects, whose keys the
// function chooses per finding; the bucket's logical id carries a hash.
const evidenceObjects = `/^Resource::<Evidence[0-9A-F]{8}\.Arn>\/\*$/g`

// captureRecords matches the capture records among the evidence objects.
const captureRecords = `/^Resource::<Evidence[0-9A-F]{8}\.Arn>\/\*\/capture\.json$/g`

const naclWildcard = "Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-acl/*"

const hubV2Wildcard = "Resource::arn:<AWS::Partition>:securityhub:<AWS::Region>:<AWS::AccountId>:hubv2/*"

// failureQueueReason answers AwsSolutions-SQS3 for the two queues that are
// themselves the end of the line for failed events.
const failureQueueReason = "This queue is the last stop for events that failed (EventBridge delivery dead-letter queue or " +
	"Lambda on-failure destination); nothing consumes it automatically, so a further DLQ would only hide the message. " +
	"An alarm on its depth pages the report topic and a human replays or contains by hand."

// suppressFindings records, with a reason each, the cdk-nag findings this
// design accepts on purpose: one suppression per wildcard, never a blanket one.
func suppressFindings(stack awscdk.Stack, cfg Config) {
	suppressions := append([]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("Evidence object keys are chosen per finding at run time; the grant is s3:PutObject only, into this stack's bucket."),
		AppliesTo: &[]any{cdknag.RegexAppliesTo{Regex: jsii.String(evidenceObjects)}},
	}, {
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("A verification reads the capture record of the case the instance's tags name; the grant is s3:GetObject and s3:GetObjectVersion on capture.json objects only."),
		AppliesTo: &[]any{cdknag.RegexAppliesTo{Regex: jsii.String(captureRecords)}},
	}}, wildcardSuppressions(cfg, "<AWS::Region>")...)
	suppressions = append(suppressions, memberRoleSuppressions(cfg)...)
	root := "/" + *stack.Node().Id()
	cdknag.NagSuppressions_AddResourceSuppressionsByPath(stack,
		jsii.String(root+"/ContainRole/DefaultPolicy/Resource"), &suppressions, nil)
	for _, queue := range []string{"UndeliveredFindings", "ContainFailures"} {
		cdknag.NagSuppressions_AddResourceSuppressionsByPath(stack, jsii.String(root+"/"+queue+"/Resource"),
			&[]*cdknag.NagPackSuppression{{Id: jsii.String("AwsSolutions-SQS3"), Reason: jsii.String(failureQueueReason)}}, nil)
	}
}

// memberRoleSuppressions explain the one wildcard of AssumeMemberRoles,
// which the contain and the release roles both carry.
func memberRoleSuppressions(cfg Config) []*cdknag.NagPackSuppression {
	if !cfg.Organization {
		return nil
	}
	return []*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("With organization=true any account of the organization may be a member: sts:AssumeRole of the member role " +
			"only, and only where aws:ResourceOrgID is the organization's."),
		AppliesTo: &[]any{"Resource::arn:<AWS::Partition>:iam::*:role/" + cfg.MemberRoleName},
	}}
}

// wildcardSuppressions are the runbook's wildcard suppressions, for grants
// whose ARNs name region (cdk-nag's rendering: <AWS::Region> for the
// contain role's own, * for the member role's).
func wildcardSuppressions(cfg Config, region string) []*cdknag.NagPackSuppression {
	findings := make([]string, 0, len(wildcardReasons))
	for f := range wildcardReasons {
		// The write-back is the security account's: the member role has none.
		if f == naclWildcard && cfg.IsolationMode != contract.IsolationSGNACL || f == hubV2Wildcard && (!writesV2(cfg) || region == "*") {
			continue
		}
		findings = append(findings, f)
	}
	sort.Strings(findings)
	also := ""
	if region == "*" {
		also = " The member role serves every Region Firebreak is deployed in; the OnlyFirebreakRegions Deny refuses all others."
	}
	var out []*cdknag.NagPackSuppression
	for _, f := range findings {
		out = append(out, &cdknag.NagPackSuppression{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String(wildcardReasons[f] + also),
			AppliesTo: &[]any{strings.ReplaceAll(f, "<AWS::Region>", region)},
		})
	}
	return out
}
