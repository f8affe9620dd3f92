package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// topicAction publishes an alarm to the report topic; awscloudwatchactions
// would bring some 60 CDK packages to compile for this one line.
type topicAction struct{ topic awssns.ITopic }

// Bind implements awscloudwatch.IAlarmAction.
func (a *topicAction) Bind(_ constructs.Construct, _ awscloudwatch.IAlarm) *awscloudwatch.AlarmActionConfig {
	return &awscloudwatch.AlarmActionConfig{AlarmActionArn: a.topic.TopicArn()}
}

// newAlarms pages the report topic when a finding may not have been handled:
// any function error, and any message waiting in either failure queue.
func newAlarms(scope constructs.Construct, fn awslambda.Function, onFailure, dlq awssqs.Queue, topic awssns.ITopic) {
	period := awscdk.Duration_Minutes(jsii.Number(5))
	alarm := func(id, description string, metric awscloudwatch.Metric) {
		a := metric.CreateAlarm(scope, jsii.String(id), &awscloudwatch.CreateAlarmOptions{
			AlarmDescription:   jsii.String(description),
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			// No data means no invocations or an empty queue: nothing is wrong.
			TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(&topicAction{topic: topic})
	}
	alarm("FunctionErrorsAlarm",
		"Firebreak: the contain function failed; Lambda retries, then the event goes to the on-failure queue",
		fn.MetricErrors(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}))
	alarm("FailedContainmentsAlarm",
		"Firebreak: a finding was not handled after all retries; read the on-failure queue and contain by hand",
		onFailure.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Maximum")}))
	alarm("UndeliveredFindingsAlarm",
		"Firebreak: EventBridge could not deliver a finding to the function; read the dead-letter queue",
		dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Maximum")}))
}

// newReleaseAlarm pages the report topic when a release failed: Lambda
// retries an asynchronous one (the Security Hub action), and a person who
// invoked it directly sees the error.
func newReleaseAlarm(scope constructs.Construct, fn awslambda.Function, topic awssns.ITopic) {
	a := fn.MetricErrors(&awscloudwatch.MetricOptions{Period: awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum")}).
		CreateAlarm(scope, jsii.String("ReleaseErrorsAlarm"), &awscloudwatch.CreateAlarmOptions{
			AlarmDescription:   jsii.String("Firebreak: a release failed part-way; read its report and release again (it repeats nothing that succeeded)"),
			Threshold:          jsii.Number(1),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
	a.AddAlarmAction(&topicAction{topic: topic})
}
