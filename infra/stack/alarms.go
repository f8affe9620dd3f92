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

// alarmPeriod is the period of every alarm: short enough to page within
// minutes, long enough for queue metrics (published every minute) to be in.
var alarmPeriod = awscdk.Duration_Minutes(jsii.Number(5))

// pageTopic alarms on the metric reaching threshold and publishes the alarm
// to the report topic.
func pageTopic(scope constructs.Construct, topic awssns.ITopic, id, description string, metric awscloudwatch.IMetric,
	threshold float64, op awscloudwatch.ComparisonOperator) awscloudwatch.Alarm {
	a := awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
		Metric:             metric,
		AlarmDescription:   jsii.String(description),
		Threshold:          jsii.Number(threshold),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: op,
		// No data means no invocations or an empty queue: nothing is wrong.
		TreatMissingData: awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	a.AddAlarmAction(&topicAction{topic: topic})
	return a
}

// newAlarms pages the report topic when a finding may not have been handled:
// any function error, and any message waiting in either failure queue.
func newAlarms(scope constructs.Construct, fn awslambda.Function, onFailure, dlq awssqs.Queue, topic awssns.ITopic) []awscloudwatch.Alarm {
	period := alarmPeriod
	alarm := func(id, description string, metric awscloudwatch.Metric) awscloudwatch.Alarm {
		return pageTopic(scope, topic, id, description, metric, 1, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
	}
	return []awscloudwatch.Alarm{alarm("FunctionErrorsAlarm",
		"Firebreak: the contain function failed; Lambda retries, then the event goes to the on-failure queue",
		fn.MetricErrors(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")})),
		alarm("FailedContainmentsAlarm",
			"Firebreak: a finding was not handled after all retries; read the on-failure queue and contain by hand",
			onFailure.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Maximum")})),
		alarm("UndeliveredFindingsAlarm",
			"Firebreak: EventBridge could not deliver a finding to the function; read the dead-letter queue",
			dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Maximum")}))}
}

// newReleaseAlarm pages the report topic when a release failed: Lambda
// retries an asynchronous one (the Security Hub action), and a person who
// invoked it directly sees the error.
func newReleaseAlarm(scope constructs.Construct, fn awslambda.Function, topic awssns.ITopic) awscloudwatch.Alarm {
	return pageTopic(scope, topic, "ReleaseErrorsAlarm",
		"Firebreak: a release failed part-way; read its report and release again (it repeats nothing that succeeded)",
		fn.MetricErrors(&awscloudwatch.MetricOptions{Period: alarmPeriod, Statistic: jsii.String("Sum")}),
		1, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
}
