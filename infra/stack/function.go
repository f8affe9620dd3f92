package stack

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Runbook sizing. The seven steps make a few dozen API calls; the SDK's
// standard retryer backs off up to 20 s per throttled call, so five minutes
// leaves room for a throttled account without holding a finding for long.
const (
	functionTimeoutMinutes = 5
	functionMemoryMB       = 256
	// Events older than this go to the failure queues: containing an
	// instance hours after the finding is a decision for a human.
	maxEventAgeHours = 1
	// Lambda allows at most 2 retries of an asynchronous invocation.
	asyncRetryAttempts = 2
)

// GoBuild builds a Go main package into a linux/arm64 `bootstrap` for the
// provided.al2023 runtime. It is CDK local bundling: Docker is never used.
type GoBuild struct {
	// Dir is the main package's directory, inside the module.
	Dir string
}

// TryBundle implements awscdk.ILocalBundling. A failed build panics: the jsii
// runtime turns the panic into a synth error carrying the compiler output,
// where returning false would send CDK to Docker with a misleading message.
func (b *GoBuild) TryBundle(outputDir *string, _ *awscdk.BundlingOptions) *bool {
	if err := b.Build(*outputDir); err != nil {
		panic(err)
	}
	return jsii.Bool(true)
}

// Build writes outputDir/bootstrap with the flags of `make build`, so the two
// paths produce the same bytes and the asset hash only moves with the code.
func (b *GoBuild) Build(outputDir string) error {
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w", "-o", filepath.Join(outputDir, "bootstrap"), ".")
	cmd.Dir = b.Dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s for linux/arm64: %w\n%s", b.Dir, err, out)
	}
	return nil
}

// CheckBootstrap verifies that dir holds an executable linux/arm64 ELF named
// bootstrap: an amd64 build deploys fine and then fails on every invocation.
func CheckBootstrap(dir string) error {
	path := filepath.Join(dir, "bootstrap")
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("reading the prebuilt function (run make build first): %w", err)
	}
	if info.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not executable", path)
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("reading %s as an ELF executable: %w", path, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		return fmt.Errorf("%s is built for %s; the function runs on arm64", path, f.Machine)
	}
	return nil
}

func functionCode(cfg Config, functionDir string) awslambda.Code {
	if cfg.BootstrapDir != "" {
		return awslambda.Code_FromAsset(jsii.String(cfg.BootstrapDir), nil)
	}
	return awslambda.Code_FromAsset(jsii.String(functionDir), &awss3assets.AssetOptions{
		// Hashing the build output keeps the asset stable across checkouts.
		AssetHashType: awscdk.AssetHashType_OUTPUT,
		Bundling: &awscdk.BundlingOptions{
			// Required by the type; unused because local bundling succeeds or fails loudly.
			Image: awscdk.DockerImage_FromRegistry(jsii.String("local")),
			Local: &GoBuild{Dir: functionDir},
		},
	})
}

var applicationLogLevels = map[string]awslambda.ApplicationLogLevel{
	"debug": awslambda.ApplicationLogLevel_DEBUG, "info": awslambda.ApplicationLogLevel_INFO,
	"warn": awslambda.ApplicationLogLevel_WARN, "error": awslambda.ApplicationLogLevel_ERROR,
}

// queueDestination sends failed asynchronous invocations to a queue. The
// role's SendMessage grant is in functionStatements: awslambdadestinations
// would add GetQueueAttributes and GetQueueUrl, which Lambda does not use.
type queueDestination struct{ queue awssqs.IQueue }

// Bind implements awslambda.IDestination.
func (d *queueDestination) Bind(_ constructs.Construct, _ awslambda.IFunction, _ *awslambda.DestinationOptions) *awslambda.DestinationConfig {
	return &awslambda.DestinationConfig{Destination: d.queue.QueueArn()}
}

// newContainFunction creates the function, its role and its log group.
// env holds the variables that point at the stack's other resources.
func newContainFunction(scope constructs.Construct, cfg Config, functionDir string, env map[string]string, refs policyRefs) (awslambda.Function, awssqs.Queue) {
	logGroup := awslogs.NewLogGroup(scope, jsii.String("ContainLogs"), &awslogs.LogGroupProps{
		Retention:     cfg.LogRetention(),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	role := awsiam.NewRole(scope, jsii.String("ContainRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Firebreak contain function: contains EC2 instances named in GuardDuty findings"),
		RoleName:    functionRoleName(scope, cfg, "contain"),
	})
	onFailure := newFailureQueue(scope, "ContainFailures")
	refs.logGroupArn, refs.onFailureArn = *logGroup.LogGroupArn(), *onFailure.QueueArn()
	for _, s := range functionStatements(cfg, refs) {
		role.AddToPrincipalPolicy(s)
	}
	credentialsPolicy(scope, "ContainCredentialsPolicy", role, credentialStatements(cfg, ownRegion()), "<AWS::Region>")

	props := goFunctionProps(cfg, "Firebreak: contains EC2 instances named in GuardDuty and Security Hub findings",
		functionCode(cfg, functionDir), role, env, logGroup)
	props.ReservedConcurrentExecutions = jsii.Number(cfg.ReservedConcurrency)
	props.OnFailure = &queueDestination{queue: onFailure}
	return awslambda.NewFunction(scope, jsii.String("Contain"), props), onFailure
}

// goFunctionProps are what both functions share: the Go bootstrap on
// provided.al2023 arm64, sizing, JSON logs into their own group, and
// asynchronous retries.
func goFunctionProps(cfg Config, description string, code awslambda.Code, role awsiam.IRole, env map[string]string, logGroup awslogs.ILogGroup) *awslambda.FunctionProps {
	environment := make(map[string]*string, len(env))
	for k, v := range env {
		environment[k] = jsii.String(v)
	}
	return &awslambda.FunctionProps{
		Description:           jsii.String(description),
		Runtime:               awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:          awslambda.Architecture_ARM_64(),
		Handler:               jsii.String("bootstrap"),
		Code:                  code,
		Role:                  role,
		Timeout:               awscdk.Duration_Minutes(jsii.Number(functionTimeoutMinutes)),
		MemorySize:            jsii.Number(functionMemoryMB),
		Environment:           &environment,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: applicationLogLevels[cfg.LogLevel],
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
		LogGroup:              logGroup,
		// No X-Ray: the report and the JSON logs carry per-step timings, and a
		// trace would add a wildcard xray:PutTraceSegments grant for little more.
		Tracing:       awslambda.Tracing_DISABLED,
		MaxEventAge:   awscdk.Duration_Hours(jsii.Number(maxEventAgeHours)),
		RetryAttempts: jsii.Number(asyncRetryAttempts),
	}
}
