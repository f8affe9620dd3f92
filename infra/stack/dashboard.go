package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// DashboardName is the CloudWatch dashboard's name; one stack per Region, and
// dashboards are global, so the Region is part of it.
func dashboardName() *string {
	return awscdk.Fn_Join(jsii.String("-"), &[]*string{jsii.String(contract.StackName), awscdk.Aws_REGION()})
}

// firebreakMetric is one of the metrics the functions emit (internal/metrics).
// Alarms take it without a label, which would turn it into a metric query.
func firebreakMetric(name, statistic, label string, dims map[string]*string) awscloudwatch.Metric {
	props := &awscloudwatch.MetricProps{
		Namespace: jsii.String(contract.MetricNamespace), MetricName: jsii.String(name),
		Statistic: jsii.String(statistic), Period: alarmPeriod, DimensionsMap: &dims,
	}
	if label != "" {
		props.Label = jsii.String(label)
	}
	return awscloudwatch.NewMetric(props)
}

// outcomes are the decisions graphed over time, in the metrics' own names.
var outcomes = []string{
	contract.MetricContained, contract.MetricIsolationFailed, contract.MetricWouldContain, contract.MetricAlreadyContained,
	contract.MetricNotified, contract.MetricIgnored, contract.MetricHeldByGuard, contract.MetricReleased, contract.MetricDrift,
}

// newOperations adds the alarms on Firebreak's own metrics and the dashboard
// a person on call opens first: what was decided, how fast isolation was,
// what failed, and whether findings arrive late or pile up in the queues.
func newOperations(scope constructs.Construct, cfg Config, fn awslambda.Function, onFailure, dlq awssqs.Queue,
	topic awssns.ITopic, alarms []awscloudwatch.Alarm) {
	isolationFailed := pageTopic(scope, topic, "IsolationFailedAlarm",
		"Firebreak: an instance flagged as compromised could NOT be isolated and may still reach the network; isolate it by hand now (the report says how)",
		firebreakMetric(contract.MetricIsolationFailed, "Sum", "", nil),
		1, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
	// A repair is done, but someone or something opened a contained
	// instance: a person must find out who, before it happens again.
	drift := pageTopic(scope, topic, "DriftRepairedAlarm",
		"Firebreak: a containment had drifted (a rule in the isolation group, an interface moved, an ACL entry gone...) and was repaired; read the drift report and find who changed it",
		firebreakMetric(contract.MetricDrift, "Sum", "", nil),
		1, awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD)
	ageThreshold := float64(cfg.FindingAgeAlarmMinutes * 60)
	late := pageTopic(scope, topic, "LateFindingsAlarm",
		fmt.Sprintf("Firebreak: a GuardDuty finding reached the function more than %d minutes after its last update; "+
			"the EventBridge path is slow or failing (check the rule, the dead-letter queue and the function's throttles)", cfg.FindingAgeAlarmMinutes),
		firebreakMetric(contract.MetricFindingAge, "Maximum", "", nil),
		ageThreshold, awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD)

	var decisions []awscloudwatch.IMetric
	for _, o := range outcomes {
		decisions = append(decisions, firebreakMetric(o, "Sum", o, nil))
	}
	graph := func(title string, width float64, left []awscloudwatch.IMetric, annotations ...*awscloudwatch.HorizontalAnnotation) awscloudwatch.GraphWidget {
		props := &awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Width: jsii.Number(width), Height: jsii.Number(6), Left: &left}
		if len(annotations) > 0 {
			props.LeftAnnotations = &annotations
		}
		return awscloudwatch.NewGraphWidget(props)
	}
	visible := func(label string) *awscloudwatch.MetricOptions {
		return &awscloudwatch.MetricOptions{Period: alarmPeriod, Statistic: jsii.String("Maximum"), Label: jsii.String(label)}
	}
	sum := func(label string) *awscloudwatch.MetricOptions {
		return &awscloudwatch.MetricOptions{Period: alarmPeriod, Statistic: jsii.String("Sum"), Label: jsii.String(label)}
	}
	byStep := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		// Every step that ever failed, release steps included, without listing them.
		Expression: jsii.String(fmt.Sprintf(`SEARCH('{%s,%s} MetricName="%s"', 'Sum', 300)`,
			contract.MetricNamespace, contract.DimStep, contract.MetricStepFailed)),
		Label: jsii.String(""), Period: alarmPeriod,
	})
	allAlarms := toAlarmRefs(append([]awscloudwatch.Alarm{isolationFailed, drift, late}, alarms...))
	awscloudwatch.NewDashboard(scope, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName:   dashboardName(),
		DefaultInterval: awscdk.Duration_Days(jsii.Number(7)),
		Widgets: &[]*[]awscloudwatch.IWidget{
			{
				graph("Decisions (per 5 minutes)", 12, decisions),
				graph("Time to isolation (ms, from the invocation's start to the final swap's answer)", 12, []awscloudwatch.IMetric{
					firebreakMetric(contract.MetricTimeToIsolation, "p50", "p50", nil),
					firebreakMetric(contract.MetricTimeToIsolation, "p99", "p99", nil),
				}),
			},
			{
				graph("Failed steps (per 5 minutes)", 8, []awscloudwatch.IMetric{byStep}),
				graph("Finding age (s, GuardDuty's update to the invocation)", 8, []awscloudwatch.IMetric{
					firebreakMetric(contract.MetricFindingAge, "Maximum", "oldest", nil),
					firebreakMetric(contract.MetricFindingAge, "p50", "p50", nil),
				}, &awscloudwatch.HorizontalAnnotation{Value: jsii.Number(ageThreshold), Label: jsii.String("alarm")}),
				graph("Queue depths (messages)", 8, []awscloudwatch.IMetric{
					onFailure.MetricApproximateNumberOfMessagesVisible(visible("ContainFailures")),
					dlq.MetricApproximateNumberOfMessagesVisible(visible("UndeliveredFindings")),
				}),
			},
			{
				graph("Contain function", 12, []awscloudwatch.IMetric{
					fn.MetricInvocations(sum("invocations")),
					fn.MetricErrors(sum("errors")),
					fn.MetricThrottles(sum("throttles")),
				}),
				graph("AWS calls per containment", 6, []awscloudwatch.IMetric{
					firebreakMetric(contract.MetricAWSCalls, "Average", "average", map[string]*string{contract.DimKind: jsii.String("contain")}),
					firebreakMetric(contract.MetricAWSCalls, "Maximum", "maximum", map[string]*string{contract.DimKind: jsii.String("contain")}),
				}),
				awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
					Title: jsii.String("Alarms"), Width: jsii.Number(6), Height: jsii.Number(6), Alarms: &allAlarms,
				}),
			},
		},
	})
}

func toAlarmRefs(alarms []awscloudwatch.Alarm) []interfacesawscloudwatch.IAlarmRef {
	out := make([]interfacesawscloudwatch.IAlarmRef, len(alarms))
	for i, a := range alarms {
		out[i] = a
	}
	return out
}
