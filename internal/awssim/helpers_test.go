package awssim_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/firebreak-ir/firebreak/internal/awssim"
)

// startSim serves backend on a random port for the test's lifetime.
func startSim(t *testing.T, backend awssim.Backend, opts ...awssim.Option) *awssim.Server {
	t.Helper()
	sim := awssim.New(backend, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if _, err := sim.Start(ctx); err != nil {
		t.Fatalf("starting the simulator: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

// sdkConfig is what a Lambda would load, pointed at the simulator, with a
// standard retryer whose backoff is short so throttling tests stay fast.
func sdkConfig(t *testing.T, sim *awssim.Server, maxAttempts int) aws.Config {
	t.Helper()
	return sdkConfigAt(t, sim, sim.Endpoint(), maxAttempts)
}

// sdkConfigAt names the simulator by another endpoint URL (a host name
// for virtual-hosted S3); the client still dials the simulator.
func sdkConfigAt(t *testing.T, sim *awssim.Server, endpoint string, maxAttempts int) aws.Config {
	t.Helper()
	// A CA bundle from the environment cannot be applied to a custom HTTP
	// client; the simulator's client brings its own trust.
	t.Setenv("AWS_CA_BUNDLE", "")
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDSIMULATOR", "simulator-secret", "")),
		config.WithBaseEndpoint(endpoint),
		config.WithHTTPClient(sim.HTTPClient()),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = maxAttempts
				o.MaxBackoff = 20 * time.Millisecond
				o.RateLimiter = ratelimit.None
			})
		}),
	)
	if err != nil {
		t.Fatalf("loading the SDK config: %v", err)
	}
	return cfg
}

// rawPost sends a hand-written, signed-looking request.
func rawPost(t *testing.T, sim *awssim.Server, service, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, sim.Endpoint()+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDSIMULATOR/20260101/us-east-1/"+service+"/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := sim.HTTPClient().Do(req)
	if err != nil {
		t.Fatalf("posting to the simulator: %v", err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}
