// Package stack is Firebreak's CDK stack: the contain function, the rules that
// feed it, its report topic, evidence bucket, failure queues and alarms, and
// the release function a person invokes to undo a containment.
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

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// StackName is the CloudFormation stack's name in every account and Region.
const StackName = contract.StackName

// FirebreakStackProps configures NewFirebreakStack.
type FirebreakStackProps struct {
	awscdk.StackProps
	Config Config
	// FunctionDir is functions/contain; it is built at synth time unless
	// Config.BootstrapDir names a prebuilt bootstrap.
	FunctionDir string
	// MemberTemplate, when set, is the member stack's template for the
	// StackSet this stack creates.
	MemberTemplate string
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
	releaseEnv := releaseEnvironment(cfg, *topic.TopicArn(), *bucket.BucketName(), *stack.Account())
	// The release removes a deny under the same role lock as the containment.
	releaseEnv[contract.EnvGuardTable] = *table.TableName()
	release := newReleaseFunction(stack, cfg, props.FunctionDir, releaseEnv, policyRefs{
		guardTableArn:  *table.TableArn(),
		topicArn:       *topic.TopicArn(),
		topicKeyArn:    *topicKey.KeyArn(),
		bucketArn:      *bucket.BucketArn(),
		evidenceKeyArn: *evidenceKey.KeyArn(),
	})
	alarms := append(newAlarms(stack, fn, onFailure, dlq, topic), newReleaseAlarm(stack, release, topic), newGuardAlarm(stack, topic),
		newCountAlarm(stack, "CredentialBudgetFullAlarm", contract.MetricCredentialBudgetFull,
			"Firebreak: an instance role's managed-policy budget is full, so a contained instance's credentials are NOT denied; detach a policy from the role or raise its quota, then contain again", topic))
	newOperations(stack, cfg, fn, onFailure, dlq, topic, alarms)
	if cfg.MultiAccount() {
		newMemberRoleAlarm(stack, topic)
		requireSecurityAccount(stack, cfg)
		if props.MemberTemplate != "" {
			newMemberStackSet(stack, cfg, props.MemberTemplate)
		}
	}
	var releaseActionArn *string
	if cfg.SecurityHubReleaseAction {
		releaseActionArn = newReleaseAction(stack, release, dlq)
	}

	output := func(id, description string, value *string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{
			Description: jsii.String(description),
			Value:       value,
		})
	}
	output(contract.OutputContainFunction, "The contain function", fn.FunctionName())
	output("TopicArn", "Reports and alarms; subscribe to it", topic.TopicArn())
	output("EvidenceBucketName", "Evidence captured before each containment", bucket.BucketName())
	if actionArn != nil {
		output("CustomActionArn", "Security Hub custom action that sends findings to the function", actionArn)
	}
	output(contract.OutputReleaseFunction, "The release function: invoke it with a release request", release.FunctionName())
	if releaseActionArn != nil {
		output("ReleaseActionArn", "Security Hub custom action that releases the instances of the selected findings", releaseActionArn)
	}
	suppressFindings(stack, cfg)
	suppressReleaseFindings(stack, cfg)
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
		if err := CheckBootstrap(ReleaseDir(cfg.BootstrapDir)); err != nil {
			return nil, Config{}, fmt.Errorf("the release function's prebuilt bootstrap, beside the contain function's: %w", err)
		}
	} else if functionDir == "" {
		return nil, Config{}, errors.New("the contain function's source directory is not set")
	}
	var first awscdk.Stack
	for i, region := range stackRegions(cfg) {
		props := &FirebreakStackProps{
			StackProps: awscdk.StackProps{
				Description: jsii.String("Firebreak: contains EC2 instances flagged by GuardDuty (dry run: " + fmt.Sprint(cfg.DryRun) + ")"),
			},
			Config:      cfg,
			FunctionDir: functionDir,
		}
		id := StackName
		if region != "" {
			// One stack per Region, each named Firebreak in its Region.
			id = StackName + "-" + region
			props.StackName = jsii.String(StackName)
			props.Env = &awscdk.Environment{Region: jsii.String(region)}
		}
		if i == 0 && cfg.MemberDeployment == MemberDeploymentStackSet {
			if props.MemberTemplate, err = MemberTemplate(cfg, allContext(app)); err != nil {
				return nil, Config{}, err
			}
		}
		stack := NewFirebreakStack(app, id, props)
		if region != "" {
			acknowledgeActionTarget(stack)
		}
		if first == nil {
			first = stack
		}
	}
	if cfg.MultiAccount() {
		NewMemberStack(app, cfg)
	}
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return first, cfg, nil
}

// stackRegions are the Regions of the Firebreak stacks: those of regions,
// or one environment-agnostic stack ("") for the CLI's Region.
func stackRegions(cfg Config) []string {
	if len(cfg.Regions) == 0 {
		return []string{""}
	}
	return cfg.Regions
}

// MemberStackOf is the app's member stack, nil in a single-account deployment.
func MemberStackOf(app awscdk.App) awscdk.Stack {
	if c := app.Node().TryFindChild(jsii.String(MemberStackName)); c != nil {
		return c.(awscdk.Stack)
	}
	return nil
}

func allContext(app awscdk.App) map[string]any {
	all, _ := app.Node().GetAllContext(nil).(map[string]any)
	return all
}

func contextKeys(app awscdk.App) []string {
	all := allContext(app)
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
