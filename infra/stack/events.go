package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecurityhub"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawsevents"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// Security Hub limits a custom action's name to 20 characters and its id to
// 20 alphanumerics, so "Contain with Firebreak" (22) is the description.
const (
	CustomActionID   = "FirebreakContain"
	CustomActionName = "Contain: Firebreak"
)

// EventBridge retries delivery to Lambda for up to this many attempts within
// the event age; what still fails lands in the delivery dead-letter queue.
const deliveryRetryAttempts = 8

// GuardDutyPattern is the rule's event pattern: EC2 instance findings at or
// above the notify threshold, optionally only some finding types.
func GuardDutyPattern(cfg Config) *awsevents.EventPattern {
	detail := map[string]any{
		"resource": map[string]any{"resourceType": []string{"Instance"}},
		"severity": awsevents.Match_GreaterThanOrEqual(jsii.Number(cfg.NotifyMinSeverity)),
	}
	if len(cfg.FindingTypePrefixes) > 0 {
		prefixes := make([]any, len(cfg.FindingTypePrefixes))
		for i, p := range cfg.FindingTypePrefixes {
			prefixes[i] = awsevents.Match_Prefix(jsii.String(p))
		}
		detail["type"] = awsevents.Match_AnyOf(prefixes...)
	}
	return &awsevents.EventPattern{
		Source:     jsii.Strings("aws.guardduty"),
		DetailType: jsii.Strings("GuardDuty Finding"),
		Detail:     &detail,
	}
}

// lambdaTarget delivers a rule's events to the function, retrying and then
// dead-lettering what cannot be delivered. It does what
// awseventstargets.LambdaFunction does; that package pulls in some 90 more
// CDK packages, minutes of cold compilation for every build of this app.
type lambdaTarget struct {
	rule awsevents.Rule
	fn   awslambda.IFunction
	dlq  awssqs.IQueue
	// input, when set, is sent instead of the event (the schedule's request).
	input awsevents.RuleTargetInput
}

// Bind implements awsevents.IRuleTarget.
func (l *lambdaTarget) Bind(_ interfacesawsevents.IRuleRef, _ *string) *awsevents.RuleTargetConfig {
	events := awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)
	name := *l.rule.Node().Id()
	// Only this rule may invoke the function or write to the queue.
	l.fn.AddPermission(jsii.String("AllowEventRule"+name), &awslambda.Permission{
		Principal: events,
		Action:    jsii.String("lambda:InvokeFunction"),
		SourceArn: l.rule.RuleArn(),
	})
	l.dlq.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowEventRule" + name),
		Principals: &[]awsiam.IPrincipal{events},
		Actions:    jsii.Strings("sqs:SendMessage"),
		Resources:  jsii.Strings(*l.dlq.QueueArn()),
		Conditions: &map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": *l.rule.RuleArn()}},
	}))
	return &awsevents.RuleTargetConfig{
		Input:            l.input,
		Arn:              l.fn.FunctionArn(),
		DeadLetterConfig: &awsevents.CfnRule_DeadLetterConfigProperty{Arn: l.dlq.QueueArn()},
		RetryPolicy: &awsevents.CfnRule_RetryPolicyProperty{
			MaximumEventAgeInSeconds: jsii.Number(maxEventAgeHours * 3600),
			MaximumRetryAttempts:     jsii.Number(deliveryRetryAttempts),
		},
	}
}

// newRules routes GuardDuty findings, and the Security Hub custom action when
// enabled, to the function. It returns the custom action's ARN or nil.
func newRules(scope constructs.Construct, cfg Config, fn awslambda.IFunction, dlq awssqs.IQueue) *string {
	route := func(id, description string, pattern *awsevents.EventPattern) {
		rule := awsevents.NewRule(scope, jsii.String(id), &awsevents.RuleProps{
			Description:  jsii.String(description),
			EventPattern: pattern,
		})
		rule.AddTarget(&lambdaTarget{rule: rule, fn: fn, dlq: dlq})
	}
	route("GuardDutyFindings", "Firebreak: GuardDuty EC2 instance findings to the contain function", GuardDutyPattern(cfg))
	if cfg.VerifyEverySeconds > 0 {
		// The sweep: every contained instance verified, what drifted repaired.
		rule := awsevents.NewRule(scope, jsii.String("VerifyContained"), &awsevents.RuleProps{
			Description: jsii.String("Firebreak: verify every contained instance (the sweep)"),
			Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Seconds(jsii.Number(cfg.VerifyEverySeconds))),
		})
		rule.AddTarget(&lambdaTarget{rule: rule, fn: fn, dlq: dlq,
			input: awsevents.RuleTargetInput_FromObject(map[string]any{contract.SweepRequestKey: true})})
	}
	if !cfg.SecurityHubAction {
		return nil
	}
	action := awssecurityhub.NewCfnActionTarget(scope, jsii.String("ContainAction"), &awssecurityhub.CfnActionTargetProps{
		Id:          jsii.String(CustomActionID),
		Name:        jsii.String(CustomActionName),
		Description: jsii.String("Contain with Firebreak: isolate, snapshot and tag the EC2 instance in the selected findings"),
	})
	route("SecurityHubContainAction", "Firebreak: the Security Hub custom action to the contain function", &awsevents.EventPattern{
		Source:     jsii.Strings("aws.securityhub"),
		DetailType: jsii.Strings("Security Hub Findings - Custom Action"),
		Resources:  &[]*string{action.AttrActionTargetArn()},
	})
	return action.AttrActionTargetArn()
}
