package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// guardTableActions are the item actions internal/ledger sends: single-item
// conditional writes, consistent reads and one query per take.
var guardTableActions = []string{
	"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query",
}

// newGuardTable holds the blast-radius guard's tokens and the record of
// published reports. On demand (a worm's burst is its only peak), TTL on
// expiresAt, point-in-time recovery, encrypted with the account's
// DynamoDB key, and kept: deletion protection on, retained when the stack
// goes, since deleting it would reset the count of containments.
func newGuardTable(scope constructs.Construct) awsdynamodb.Table {
	return awsdynamodb.NewTable(scope, jsii.String("Guard"), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String(contract.GuardPartitionKey), Type: awsdynamodb.AttributeType_STRING},
		SortKey:             &awsdynamodb.Attribute{Name: jsii.String(contract.GuardSortKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String(contract.GuardTTLAttribute),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		Encryption:         awsdynamodb.TableEncryption_AWS_MANAGED,
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
	})
}

// newGuardAlarm pages the report topic when the guard holds a containment
// back: a person must decide about each held instance (its report carries
// the request to contain it).
func newGuardAlarm(scope constructs.Construct, topic awssns.ITopic) awscloudwatch.Alarm {
	return pageTopic(scope, topic, "HeldByGuardAlarm",
		"Firebreak: the blast-radius guard held automatic containments back; read the reports (each carries the manual request) and decide",
		firebreakMetric(contract.MetricHeldByGuard, "Sum", "", nil), 1, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
}
