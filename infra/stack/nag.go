package stack

import (
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// wildcardReasons explains every wildcard resource in the contain function's
// policy, keyed by cdk-nag's rendering of it. Instances, groups and the rest
// are chosen by findings at run time, so they cannot be named at deploy time;
// each grant is narrowed by the conditions given in the reason instead.
var wildcardReasons = map[string]string{
	"Resource::*": "The ec2, autoscaling and elasticloadbalancing Describe* actions in DescribeForEvidence have no " +
		"resource-level permissions, so IAM accepts only \"*\"; they are read-only. The two Deny statements also use \"*\" to cover every resource.",
	"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/*": "The flagged instance is named by the finding at run " +
		"time. Console output is read-only; attribute changes, snapshots and firebreak:* tags require the instance not to be tagged firebreak:exempt=true.",
	"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:security-group/*": "Isolation groups are created per VPC at run time. " +
		"Creation requires the request tag firebreak:managed=true; rule edits and later tags require the group to carry it. Interfaces move " +
		"into the isolation groups, or back to their own groups if isolation fails half-way; groups tagged firebreak:exempt=true are refused.",
	"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:vpc/*": "CreateSecurityGroup authorizes the VPC of the flagged " +
		"instance, known only at run time; VPCs tagged firebreak:exempt=true are refused.",
	"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*": "The flagged instance's interfaces are " +
		"moved to the isolation group; they are known only at run time and interfaces tagged firebreak:exempt=true are refused.",
	"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:subnet/*": "ModifyNetworkInterfaceAttribute also authorizes the " +
		"interface's subnet, known only at run time; subnets tagged firebreak:exempt=true are refused.",
	"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:volume/*": "The flagged instance's EBS volumes are snapshotted, " +
		"tagged and kept on termination; they are known only at run time and volumes tagged firebreak:exempt=true are refused.",
	"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>::snapshot/*": "Snapshot ids do not exist before CreateSnapshots runs; tagging " +
		"is allowed at creation (ec2:CreateAction) or with firebreak:* keys only; LockSnapshot only on snapshots carrying " +
		"firebreak:case-id, for exactly the configured duration (ec2:SnapshotLockDuration).",
	hubV2Wildcard: "Security Hub names its hubv2 resource itself when it is enabled, so its id is not known at deploy time. " +
		"BatchUpdateFindings is allowed only with no status or NOTIFIED (ASFF) / In Progress, 2 (OCSF): Firebreak can " +
		"neither resolve, suppress nor archive a finding.",
	naclWildcard: "In sg+nacl mode the deny entries go into the " +
		"network ACLs of the subnets around the instance, known only at run time; ACLs tagged firebreak:exempt=true are refused.",
	"Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/*": "The " +
		"instance's Auto Scaling group is found at run time with DescribeAutoScalingInstances; groups tagged firebreak:exempt=true are refused.",
	"Resource::arn:<AWS::Partition>:elasticloadbalancing:<AWS::Region>:<AWS::AccountId>:loadbalancer/*": "Classic Load Balancers " +
		"serving the instance are found at run time by scanning; load balancers tagged firebreak:exempt=true are refused.",
	"Resource::arn:<AWS::Partition>:elasticloadbalancing:<AWS::Region>:<AWS::AccountId>:targetgroup/*/*": "Target groups holding the " +
		"instance or its addresses are found at run time by scanning; target groups tagged firebreak:exempt=true are refused.",
}

// evidenceObjects matches the evidence bucket's objects, whose keys the
// function chooses per finding; the bucket's logical id carries a hash.
const evidenceObjects = `/^Resource::<Evidence[0-9A-F]{8}\.Arn>\/\*$/g`

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
	findings := make([]string, 0, len(wildcardReasons))
	for f := range wildcardReasons {
		if f == naclWildcard && cfg.IsolationMode != contract.IsolationSGNACL || f == hubV2Wildcard && !writesV2(cfg) {
			continue
		}
		findings = append(findings, f)
	}
	sort.Strings(findings)
	suppressions := []*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("Evidence object keys are chosen per finding at run time; the grant is s3:PutObject only, into this stack's bucket."),
		AppliesTo: &[]any{cdknag.RegexAppliesTo{Regex: jsii.String(evidenceObjects)}},
	}}
	for _, f := range findings {
		suppressions = append(suppressions, &cdknag.NagPackSuppression{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String(wildcardReasons[f]),
			AppliesTo: &[]any{f},
		})
	}
	cdknag.NagSuppressions_AddResourceSuppressionsByPath(stack,
		jsii.String("/"+StackName+"/ContainRole/DefaultPolicy/Resource"), &suppressions, nil)
	for _, queue := range []string{"UndeliveredFindings", "ContainFailures"} {
		cdknag.NagSuppressions_AddResourceSuppressionsByPath(stack, jsii.String("/"+StackName+"/"+queue+"/Resource"),
			&[]*cdknag.NagPackSuppression{{Id: jsii.String("AwsSolutions-SQS3"), Reason: jsii.String(failureQueueReason)}}, nil)
	}
}
