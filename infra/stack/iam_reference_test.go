package stack_test

// The Service Authorization Reference, for the actions this stack grants:
// access level, the resource types IAM authorizes each action against, and
// the condition keys evaluated for each type. A positive condition on a key
// that is not evaluated for a resource type denies silently, so the IAM test
// holds every statement to this table. Any ("") resource type means the
// action has no resource-level permissions and needs "*".
//
// Source: docs.aws.amazon.com/service-authorization/latest/reference,
// list_amazonec2, list_amazonec2autoscaling, list_awselasticloadbalancing(v2),
// list_amazonsns, list_amazons3, list_awskeymanagementservice,
// list_amazoncloudwatchlogs, list_amazonsqs, list_amazondynamodb, list_awssecurityhub, checked for
// this stack. ec2:LockSnapshot's keys are those the EBS user guide's snapshot
// lock policies use (ec2:SnapshotLockDuration, ec2:CoolOffPeriod) and those
// AWS's managed policies condition it on (AmazonEBSCSIDriverPolicy:
// ec2:ResourceTag; the ROSA policies: aws:ResourceTag).

type accessLevel string

const (
	levelList    accessLevel = "List"
	levelRead    accessLevel = "Read"
	levelWrite   accessLevel = "Write"
	levelTagging accessLevel = "Tagging"
)

type actionRef struct {
	level accessLevel
	// resources maps a resource type ("" for none) to its condition keys.
	resources map[string][]string
}

var (
	iamRoleKeys     = []string{"aws:ResourceTag/${TagKey}", "iam:ResourceTag/${TagKey}"}
	ec2InstanceKeys = []string{"aws:ResourceTag/${TagKey}", "ec2:ResourceTag/${TagKey}", "ec2:InstanceID", "ec2:Region",
		"ec2:AvailabilityZone", "ec2:InstanceType", "ec2:InstanceProfile", "ec2:Tenancy", "ec2:RootDeviceType"}
	ec2GroupKeys = []string{"aws:ResourceTag/${TagKey}", "ec2:ResourceTag/${TagKey}", "ec2:Region",
		"ec2:SecurityGroupID", "ec2:Vpc"}
	ec2VolumeKeys = []string{"aws:ResourceTag/${TagKey}", "ec2:ResourceTag/${TagKey}", "ec2:Region",
		"ec2:VolumeID", "ec2:Encrypted", "ec2:VolumeSize", "ec2:VolumeType"}
	ec2NewSnapshotKeys = []string{"aws:RequestTag/${TagKey}", "aws:TagKeys", "ec2:Region", "ec2:SnapshotID",
		"ec2:ParentVolume", "ec2:VolumeSize", "ec2:OutpostArn"}
	// CreateTags evaluates the same keys for every taggable EC2 resource type.
	ec2CreateTagsKeys = []string{"aws:RequestTag/${TagKey}", "aws:ResourceTag/${TagKey}", "aws:TagKeys",
		"ec2:CreateAction", "ec2:Region", "ec2:ResourceTag/${TagKey}"}
	noKeys               = []string{}
	securityHubFieldKeys = []string{"aws:ResourceTag/${TagKey}", "securityhub:ASFFSyntaxPath/${ASFFSyntaxPath}",
		"securityhub:OCSFSyntaxPath/${OCSFSyntaxPath}"}
)

var iamReference = map[string]actionRef{
	"ec2:DescribeInstances":                      {levelList, map[string][]string{"": {"ec2:Region"}}},
	"ec2:DescribeSecurityGroups":                 {levelList, map[string][]string{"": {"ec2:Region"}}},
	"ec2:DescribeSecurityGroupRules":             {levelList, map[string][]string{"": {"ec2:Region"}}},
	"ec2:DescribeVolumes":                        {levelList, map[string][]string{"": {"ec2:Region"}}},
	"ec2:DescribeIamInstanceProfileAssociations": {levelRead, map[string][]string{"": {"ec2:Region"}}},
	"ec2:DescribeNetworkAcls":                    {levelList, map[string][]string{"": {"ec2:Region"}}},
	"ec2:DescribeSnapshots":                      {levelList, map[string][]string{"": {"ec2:Region"}}},
	"ec2:GetConsoleOutput":                       {levelRead, map[string][]string{"instance": ec2InstanceKeys}},
	// Granted on "*" like the Describe actions: read-only, one attribute per call.
	"ec2:DescribeInstanceAttribute": {levelList, map[string][]string{"": {"ec2:Region"}}},
	"ec2:DescribeNetworkInterfaces": {levelList, map[string][]string{"": {"ec2:Region"}}},
	"ec2:DeleteSecurityGroup":       {levelWrite, map[string][]string{"security-group": ec2GroupKeys}},
	"ec2:DeleteNetworkAclEntry": {levelWrite, map[string][]string{"network-acl": {"aws:ResourceTag/${TagKey}",
		"ec2:ResourceTag/${TagKey}", "ec2:NetworkAclID", "ec2:Region", "ec2:Vpc"}}},
	"ec2:DescribeLockedSnapshots": {levelList, map[string][]string{"": {"ec2:Region"}}},
	"ec2:LockSnapshot": {levelWrite, map[string][]string{"snapshot": {"aws:ResourceTag/${TagKey}", "ec2:ResourceTag/${TagKey}",
		"ec2:Region", "ec2:SnapshotLockDuration", "ec2:CoolOffPeriod"}}},
	// BatchUpdateFindings and BatchUpdateFindingsV2 are both authorized as
	// securityhub:BatchUpdateFindings, against hub (Security Hub CSPM) or
	// hubv2 (Security Hub), with field-level keys for either format.
	"securityhub:BatchUpdateFindings": {levelWrite, map[string][]string{"hub": securityHubFieldKeys, "hubv2": securityHubFieldKeys}},
	"ec2:CreateSecurityGroup": {levelWrite, map[string][]string{
		"security-group": {"aws:RequestTag/${TagKey}", "aws:TagKeys", "ec2:Region", "ec2:SecurityGroupID"},
		"vpc":            {"aws:ResourceTag/${TagKey}", "ec2:ResourceTag/${TagKey}", "ec2:Region", "ec2:Tenancy", "ec2:VpcID"},
	}},
	"ec2:CreateTags": {levelTagging, map[string][]string{
		"instance": ec2CreateTagsKeys, "volume": ec2CreateTagsKeys, "snapshot": ec2CreateTagsKeys,
		"security-group": ec2CreateTagsKeys, "network-interface": ec2CreateTagsKeys,
	}},
	"ec2:AuthorizeSecurityGroupIngress": {levelWrite, map[string][]string{"security-group": ec2GroupKeys,
		"security-group-rule": {"aws:RequestTag/${TagKey}", "aws:TagKeys", "ec2:Region"}}},
	"ec2:AuthorizeSecurityGroupEgress": {levelWrite, map[string][]string{"security-group": ec2GroupKeys,
		"security-group-rule": {"aws:RequestTag/${TagKey}", "aws:TagKeys", "ec2:Region"}}},
	"ec2:RevokeSecurityGroupIngress": {levelWrite, map[string][]string{"security-group": ec2GroupKeys}},
	"ec2:RevokeSecurityGroupEgress":  {levelWrite, map[string][]string{"security-group": ec2GroupKeys}},
	"ec2:ModifyNetworkInterfaceAttribute": {levelWrite, map[string][]string{
		"instance": ec2InstanceKeys,
		"network-interface": {"aws:ResourceTag/${TagKey}", "ec2:ResourceTag/${TagKey}", "ec2:Attribute",
			"ec2:Attribute/${AttributeName}", "ec2:AvailabilityZone", "ec2:NetworkInterfaceID", "ec2:Region", "ec2:Subnet", "ec2:Vpc"},
		"security-group": ec2GroupKeys,
		"subnet":         {"aws:ResourceTag/${TagKey}", "ec2:ResourceTag/${TagKey}", "ec2:AvailabilityZone", "ec2:Region", "ec2:Vpc"},
	}},
	"ec2:ModifyInstanceAttribute": {levelWrite, map[string][]string{
		"instance":       append([]string{"ec2:Attribute", "ec2:Attribute/${AttributeName}"}, ec2InstanceKeys...),
		"security-group": ec2GroupKeys, "volume": ec2VolumeKeys,
	}},
	"ec2:CreateSnapshots": {levelWrite, map[string][]string{
		"instance": ec2InstanceKeys, "snapshot": ec2NewSnapshotKeys, "volume": ec2VolumeKeys,
	}},
	"ec2:CreateSnapshot": {levelWrite, map[string][]string{"snapshot": ec2NewSnapshotKeys, "volume": ec2VolumeKeys}},
	"ec2:CreateNetworkAclEntry": {levelWrite, map[string][]string{"network-acl": {"aws:ResourceTag/${TagKey}",
		"ec2:ResourceTag/${TagKey}", "ec2:NetworkAclID", "ec2:Region", "ec2:Vpc"}}},

	"autoscaling:DescribeAutoScalingInstances": {levelList, map[string][]string{"": noKeys}},
	"autoscaling:DescribeAutoScalingGroups":    {levelList, map[string][]string{"": noKeys}},
	"autoscaling:AttachInstances": {levelWrite, map[string][]string{"autoScalingGroup": {"aws:ResourceTag/${TagKey}",
		"autoscaling:ResourceTag/${TagKey}"}}},
	"autoscaling:DetachInstances": {levelWrite, map[string][]string{"autoScalingGroup": {"aws:ResourceTag/${TagKey}",
		"autoscaling:ResourceTag/${TagKey}"}}},

	"elasticloadbalancing:DescribeLoadBalancers":               {levelRead, map[string][]string{"": noKeys}},
	"elasticloadbalancing:DescribeTargetGroups":                {levelRead, map[string][]string{"": noKeys}},
	"elasticloadbalancing:DescribeTargetHealth":                {levelRead, map[string][]string{"": noKeys}},
	"elasticloadbalancing:DeregisterInstancesFromLoadBalancer": {levelWrite, map[string][]string{"loadbalancer": {"aws:ResourceTag/${TagKey}"}}},
	"elasticloadbalancing:DeregisterTargets":                   {levelWrite, map[string][]string{"targetgroup": {"aws:ResourceTag/${TagKey}"}}},
	"elasticloadbalancing:RegisterInstancesWithLoadBalancer":   {levelWrite, map[string][]string{"loadbalancer": {"aws:ResourceTag/${TagKey}"}}},
	"elasticloadbalancing:RegisterTargets":                     {levelWrite, map[string][]string{"targetgroup": {"aws:ResourceTag/${TagKey}"}}},

	"sns:Publish":         {levelWrite, map[string][]string{"topic": {"aws:ResourceTag/${TagKey}"}}},
	"s3:GetObject":        {levelRead, map[string][]string{"object": {"s3:ResourceAccount", "s3:TlsVersion", "s3:ExistingObjectTag/${TagKey}"}}},
	"s3:GetObjectVersion": {levelRead, map[string][]string{"object": {"s3:ResourceAccount", "s3:TlsVersion", "s3:versionid", "s3:ExistingObjectTag/${TagKey}"}}},
	"s3:ListBucket":       {levelList, map[string][]string{"bucket": {"s3:prefix", "s3:delimiter", "s3:max-keys", "s3:ResourceAccount", "s3:TlsVersion"}}},
	"s3:PutObject":        {levelWrite, map[string][]string{"object": {"s3:x-amz-server-side-encryption", "s3:x-amz-server-side-encryption-aws-kms-key-id", "s3:RequestObjectTag/${TagKey}", "s3:ResourceAccount", "s3:TlsVersion"}}},
	"kms:GenerateDataKey": {levelWrite, map[string][]string{"key": {"kms:ViaService", "kms:CallerAccount",
		"kms:EncryptionContext:${EncryptionContextKey}", "kms:EncryptionContextKeys", "kms:EncryptionAlgorithm", "aws:ResourceTag/${TagKey}"}}},
	"kms:Decrypt": {levelWrite, map[string][]string{"key": {"kms:ViaService", "kms:CallerAccount",
		"kms:EncryptionContext:${EncryptionContextKey}", "kms:EncryptionContextKeys", "kms:EncryptionAlgorithm", "aws:ResourceTag/${TagKey}"}}},
	"logs:CreateLogStream": {levelWrite, map[string][]string{"log-group": noKeys}},
	"logs:PutLogEvents":    {levelWrite, map[string][]string{"log-group": noKeys}},
	"sqs:SendMessage":      {levelWrite, map[string][]string{"queue": {"aws:ResourceTag/${TagKey}"}}},
	// list_awssecuritytokenservice: the role's tags; the request keys
	// (session tags, source identity, external id) are not used here.
	"sts:AssumeRole": {levelWrite, map[string][]string{"role": {"aws:ResourceTag/${TagKey}"}}},

	// list_awsidentityandaccessmanagementiam. Attach and detach are
	// "Permissions management"; the tests hold them to Write's rules.
	"ec2:DisassociateIamInstanceProfile": {levelWrite, map[string][]string{"instance": ec2InstanceKeys}},
	"ec2:AssociateIamInstanceProfile":    {levelWrite, map[string][]string{"instance": ec2InstanceKeys}},
	"ec2:ModifyInstanceMetadataOptions":  {levelWrite, map[string][]string{"instance": ec2InstanceKeys}},
	"iam:GetInstanceProfile":             {levelRead, map[string][]string{"instance-profile": {}}},
	"iam:GetRole":                        {levelRead, map[string][]string{"role": iamRoleKeys}},
	"iam:ListRoleTags":                   {levelList, map[string][]string{"role": iamRoleKeys}},
	"iam:ListAttachedRolePolicies":       {levelList, map[string][]string{"role": iamRoleKeys}},
	"iam:AttachRolePolicy":               {levelWrite, map[string][]string{"role": append([]string{"iam:PolicyARN", "iam:PermissionsBoundary"}, iamRoleKeys...)}},
	"iam:DetachRolePolicy":               {levelWrite, map[string][]string{"role": append([]string{"iam:PolicyARN", "iam:PermissionsBoundary"}, iamRoleKeys...)}},
	"iam:PassRole":                       {levelWrite, map[string][]string{"role": {"iam:AssociatedResourceArn", "iam:PassedToService"}}},
	"iam:CreatePolicy":                   {levelWrite, map[string][]string{"policy": {"aws:RequestTag/${TagKey}", "aws:TagKeys"}}},
	"iam:TagPolicy":                      {levelTagging, map[string][]string{"policy": {"aws:RequestTag/${TagKey}", "aws:TagKeys", "aws:ResourceTag/${TagKey}"}}},
	"iam:CreatePolicyVersion":            {levelWrite, map[string][]string{"policy": {"aws:ResourceTag/${TagKey}"}}},
	"iam:DeletePolicyVersion":            {levelWrite, map[string][]string{"policy": {"aws:ResourceTag/${TagKey}"}}},
	"iam:DeletePolicy":                   {levelWrite, map[string][]string{"policy": {"aws:ResourceTag/${TagKey}"}}},
	"iam:GetPolicy":                      {levelRead, map[string][]string{"policy": {"aws:ResourceTag/${TagKey}"}}},
	"iam:GetPolicyVersion":               {levelRead, map[string][]string{"policy": {"aws:ResourceTag/${TagKey}"}}},
	"iam:ListPolicyVersions":             {levelList, map[string][]string{"policy": {"aws:ResourceTag/${TagKey}"}}},

	"dynamodb:GetItem":    {levelRead, map[string][]string{"table": dynamoItemKeys}},
	"dynamodb:Query":      {levelRead, map[string][]string{"table": dynamoItemKeys}},
	"dynamodb:PutItem":    {levelWrite, map[string][]string{"table": dynamoItemKeys}},
	"dynamodb:UpdateItem": {levelWrite, map[string][]string{"table": dynamoItemKeys}},
	"dynamodb:DeleteItem": {levelWrite, map[string][]string{"table": dynamoItemKeys}},
}

// dynamoItemKeys are the keys DynamoDB evaluates for item actions on a table
// (fine-grained access control); the stack grants them on its one table.
var dynamoItemKeys = []string{"aws:ResourceTag/${TagKey}", "dynamodb:Attributes", "dynamodb:EnclosingOperation",
	"dynamodb:LeadingKeys", "dynamodb:ReturnConsumedCapacity", "dynamodb:ReturnValues", "dynamodb:Select"}

// globalKeys are evaluated for every request that carries them; a positive
// condition on one is not a silent deny.
var globalKeys = map[string]bool{
	"aws:SecureTransport": true, "aws:SourceArn": true, "aws:SourceAccount": true,
	"aws:RequestedRegion": true, "aws:PrincipalAccount": true,
	// Organization keys, evaluated for every request (IAM User Guide,
	// global condition context keys).
	"aws:ResourceOrgID": true, "aws:PrincipalOrgID": true, "aws:PrincipalArn": true,
}
