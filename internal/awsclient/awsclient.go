// Package awsclient builds the SDK clients Firebreak uses, once per account and
// Region, with retries sized for EC2's throttling.
package awsclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
)

// DefaultMaxAttempts is used unless AWS_MAX_ATTEMPTS says otherwise. EC2's
// mutating buckets refill at 5 per second, so a containment during a burst must
// outlast several throttles rather than give up after the SDK's default 3.
const DefaultMaxAttempts = 8

// DefaultRetryMode is used unless AWS_RETRY_MODE says otherwise. Standard:
// adaptive mode's client-side rate limiter, measured under 30% throttling,
// slowed containments until some did not finish (see README, Benchmarks).
const DefaultRetryMode = aws.RetryModeStandard

// ErrOtherAccount means the finding names an account the function cannot act in.
var ErrOtherAccount = errors.New("the resource is in another account")

// Factory hands out one set of clients per account and Region, built on
// first use and kept for the life of the process. The function's own
// account uses its own credentials; a member account (see Members) is
// reached through its member role.
type Factory struct {
	base    aws.Config
	sts     awsapi.STS
	members Members

	mu      sync.Mutex
	own     string
	clients map[string]awsapi.Clients // by account/Region
	creds   map[string]*aws.CredentialsCache
}

// Option changes a Factory.
type Option func(*Factory)

// WithMembers serves member accounts besides the function's own.
func WithMembers(m Members) Option { return func(f *Factory) { f.members = m } }

// Load reads the shared AWS configuration (AWS_REGION, AWS_ENDPOINT_URL,
// AWS_MAX_ATTEMPTS, AWS_RETRY_MODE, credentials) the way the SDK documents.
// ownAccount may be empty: it is then asked of STS once, when first needed.
func Load(ctx context.Context, ownAccount string, opts ...Option) (*Factory, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.RetryMode == "" {
		cfg.RetryMode = DefaultRetryMode
	}
	cfg.Retryer = retryer(cfg.RetryMode, cfg.RetryMaxAttempts)
	if cfg.HTTPClient == nil {
		// What the SDK would build itself when none is given.
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	cfg.HTTPClient = shieldedClient{cfg.HTTPClient}
	return New(cfg, ownAccount, opts...), nil
}

// shieldedClient hides io.WriterTo on request bodies. smithy-go's body answers
// WriteTo with io.EOF once closed; when the server has already answered,
// net/http takes that for a failed write and drops the connection under the
// response (aws-sdk-go-v2 #2737), and the SDK retries a call that succeeded:
// for CreateSnapshots that would be a second snapshot set.
type shieldedClient struct{ next aws.HTTPClient }

func (c shieldedClient) Do(r *http.Request) (*http.Response, error) { return c.next.Do(ShieldBody(r)) }

// ShieldBody returns r with its body stripped of io.WriterTo (see shieldedClient).
func ShieldBody(r *http.Request) *http.Request {
	if r.Body != nil && r.Body != http.NoBody {
		r = r.Clone(r.Context())
		r.Body = plainBody{r.Body}
	}
	return r
}

type plainBody struct{ io.ReadCloser }

// New builds a factory over an explicit configuration (tests, simulator).
// Its clients count their requests for CountCalls, and name the case they
// act for in their User-Agent.
func New(cfg aws.Config, ownAccount string, opts ...Option) *Factory {
	cfg = cfg.Copy()
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	cfg.HTTPClient = countingClient{cfg.HTTPClient}
	cfg.APIOptions = append(cfg.APIOptions, addCaseToUserAgent)
	f := &Factory{base: cfg, own: ownAccount, sts: sts.NewFromConfig(cfg),
		clients: map[string]awsapi.Clients{}, creds: map[string]*aws.CredentialsCache{}}
	for _, o := range opts {
		o(f)
	}
	return f
}

// retryer keeps the SDK's backoff but drops its client-side retry quota: a
// containment must not fail because earlier calls in the process were throttled.
func retryer(mode aws.RetryMode, attempts int) func() aws.Retryer {
	if attempts == 0 {
		attempts = DefaultMaxAttempts
	}
	standard := func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.RateLimiter = ratelimit.None
	}
	if mode == aws.RetryModeAdaptive {
		return func() aws.Retryer {
			return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
				o.StandardOptions = append(o.StandardOptions, standard)
			})
		}
	}
	return func() aws.Retryer { return retry.NewStandard(standard) }
}

// Region is the Region the function runs in.
func (f *Factory) Region() string { return f.base.Region }

// OwnAccount returns the account the function's credentials belong to.
func (f *Factory) OwnAccount(ctx context.Context) (string, error) {
	f.mu.Lock()
	own := f.own
	f.mu.Unlock()
	if own != "" {
		return own, nil
	}
	out, err := f.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("asking STS which account this is: %w", err)
	}
	f.mu.Lock()
	f.own = aws.ToString(out.Account)
	f.mu.Unlock()
	return aws.ToString(out.Account), nil
}

// Members are the accounts besides its own the factory serves.
func (f *Factory) Members() Members { return f.members }

// For returns the clients for an account ("" for the function's own) and
// Region ("" for the function's), building them on first use. An account
// the function does not serve is ErrOtherAccount; a member account whose
// role cannot be assumed is ErrMemberRoleMissing.
func (f *Factory) For(ctx context.Context, account, region string) (awsapi.Clients, error) {
	own, err := f.OwnAccount(ctx)
	if err != nil {
		return awsapi.Clients{}, err
	}
	if region == "" {
		region = f.base.Region
	}
	if account == "" || account == own {
		return f.ownClients(own, region), nil
	}
	if err := f.members.Admits(account, own); err != nil {
		return awsapi.Clients{}, err
	}
	creds, err := f.reachMember(ctx, account)
	if err != nil {
		return awsapi.Clients{}, err
	}
	ownSet := f.ownClients(own, region)
	f.mu.Lock()
	defer f.mu.Unlock()
	key := account + "/" + region
	if c, ok := f.clients[key]; ok {
		return c, nil
	}
	cfg := f.base.Copy()
	cfg.Region, cfg.Credentials = region, creds
	c := instanceServices(cfg)
	securityAccountServices(&c, ownSet)
	f.clients[key] = c
	return c, nil
}

func (f *Factory) ownClients(own, region string) awsapi.Clients {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := own + "/" + region
	if c, ok := f.clients[key]; ok {
		return c
	}
	cfg := f.base.Copy()
	cfg.Region = region
	c := instanceServices(cfg)
	c.SNS = sns.NewFromConfig(cfg)
	// The evidence bucket lives in the function's Region, whatever Region
	// the instance is in. A custom endpoint (a simulator, an S3-compatible
	// store) cannot serve virtual-hosted bucket names: path style there.
	c.S3 = s3.NewFromConfig(f.base, func(o *s3.Options) { o.UsePathStyle = customEndpoint() })
	// The guard table is the function's own, like the evidence bucket.
	c.DynamoDB = dynamodb.NewFromConfig(f.base)
	// Findings live in the Region of the resource, like the instance.
	c.SecurityHub = securityhub.NewFromConfig(cfg)
	f.clients[key] = c
	return c
}

// instanceServices are the clients that act on the instance and what it
// belongs to, in the account whose credentials cfg holds.
func instanceServices(cfg aws.Config) awsapi.Clients {
	return awsapi.Clients{
		EC2:         ec2.NewFromConfig(cfg),
		AutoScaling: autoscaling.NewFromConfig(cfg),
		ELB:         elb.NewFromConfig(cfg),
		ELBV2:       elbv2.NewFromConfig(cfg),
		// IAM is global; the SDK signs for us-east-1 (or the partition's
		// global Region) whatever cfg.Region is. The role lives in the
		// instance's account, so its credentials are the account's.
		IAM: iam.NewFromConfig(cfg),
	}
}

func customEndpoint() bool {
	return os.Getenv("AWS_ENDPOINT_URL") != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
}
