// Package stack is Firebreak's CDK stack: the contain function, the rules that
// feed it, its report topic, evidence bucket, failure queues and alarms.
package stack

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// StackName is the CloudFormation stack's name in every account and Region.
const StackName = "Firebreak"

// FirebreakStackProps configures NewFirebreakStack.
type FirebreakStackProps struct {
	awscdk.StackProps
	Config Config
	// FunctionDir is functions/contain; it is built at synth time unless
	// Config.BootstrapDir names a prebuilt bootstrap.
	FunctionDir string
}

// NewFirebreakStack defines every resource. It is environment-agnostic: the
// CLI's account and Region at deploy time are the ones protected.
func NewFirebreakStack(scope constructs.Construct, id string, props *FirebreakStackProps) awscdk.Stack {
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	cfg := props.Config

	topic, topicKey := newReportTopic(stack, cfg)
	bucket, evidenceKey := newEvidenceBucket(stack, cfg)
	dlq := newFailureQueue(stack, "UndeliveredFindings")
	table := newGuardTable(stack)
	env := cfg.Environment(*topic.TopicArn(), *bucket.BucketName(), *stack.Account())
	maps.Copy(env, cfg.GuardEnvironment(*table.TableName()))
	fn, onFailure := newContainFunction(stack, cfg, props.FunctionDir, env, policyRefs{
		topicArn:       *topic.TopicArn(),
		guardTableArn:  *table.TableArn(),
		topicKeyArn:    *topicKey.KeyArn(),
		bucketArn:      *bucket.BucketArn(),
		evidenceKeyArn: *evidenceKey.KeyArn(),
	})
	actionArn := newRules(stack, cfg, fn, dlq)
	newAlarms(stack, fn, onFailure, dlq, topic)
	newGuardAlarm(stack, fn, topic)

	output := func(id, description string, value *string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{
			Description: jsii.String(description),
			Value:       value,
		})
	}
	output("FunctionName", "The contain function", fn.FunctionName())
	output("TopicArn", "Reports and alarms; subscribe to it", topic.TopicArn())
	output("EvidenceBucketName", "Evidence captured before each containment", bucket.BucketName())
	if actionArn != nil {
		output("CustomActionArn", "Security Hub custom action that sends findings to the function", actionArn)
	}
	suppressFindings(stack, cfg)
	return stack
}

// Build reads the configuration from the app's context, adds the stack and
// the cdk-nag AwsSolutions checks. main and the tests both build through it.
func Build(app awscdk.App, functionDir string) (awscdk.Stack, Config, error) {
	if err := MisspelledKeys(contextKeys(app)); err != nil {
		return nil, Config{}, err
	}
	cfg, err := ParseConfig(func(key string) any { return app.Node().TryGetContext(jsii.String(key)) })
	if err != nil {
		return nil, Config{}, err
	}
	if cfg.BootstrapDir != "" {
		if cfg.BootstrapDir, err = filepath.Abs(cfg.BootstrapDir); err != nil {
			return nil, Config{}, fmt.Errorf("resolving %s: %w", KeyBootstrapDir, err)
		}
		if err := CheckBootstrap(cfg.BootstrapDir); err != nil {
			return nil, Config{}, err
		}
	} else if functionDir == "" {
		return nil, Config{}, errors.New("the contain function's source directory is not set")
	}
	stack := NewFirebreakStack(app, StackName, &FirebreakStackProps{
		StackProps: awscdk.StackProps{
			Description: jsii.String("Firebreak: contains EC2 instances flagged by GuardDuty (dry run: " + fmt.Sprint(cfg.DryRun) + ")"),
		},
		Config:      cfg,
		FunctionDir: functionDir,
	})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return stack, cfg, nil
}

func contextKeys(app awscdk.App) []string {
	all, _ := app.Node().GetAllContext(nil).(map[string]any)
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
