package release_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/firebreak-ir/firebreak/internal/awsclient"
	"github.com/firebreak-ir/firebreak/internal/awssim"
)

// overTheWire serves the shape's world with the wire-level simulator and
// returns the production client factory pointed at it: real SDK clients,
// real serialization, the SDK's own checksum validation on GetObject.
func overTheWire(t *testing.T, s *shape) *env {
	t.Helper()
	sim := awssim.New(awssim.Backend{Clients: s.w.Clients(), STS: s.w.STS()})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if _, err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	t.Setenv("AWS_CA_BUNDLE", "")
	t.Setenv("AWS_ENDPOINT_URL", sim.Endpoint()) // the factory picks path-style S3 for a custom endpoint
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(region),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDSIMULATOR", "simulator-secret", "")),
		config.WithBaseEndpoint(sim.Endpoint()),
		config.WithHTTPClient(sim.HTTPClient()),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff, o.RateLimiter = 10*time.Millisecond, ratelimit.None })
		}))
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(t, s.w, s.d, awsclient.New(cfg, account), s.nacl)
}

// shapesOverTheWire is how many random shapes the wire round trip tries.
const shapesOverTheWire = 40

func TestRoundTripOverTheWire(t *testing.T) {
	s := demoShape(t, true)
	roundTrip(t, s, overTheWire(t, s))
	var c coverage
	for seed := uint64(1001); seed < 1001+shapesOverTheWire; seed++ {
		s := newShape(seed)
		c.add(s, roundTrip(t, s, overTheWire(t, s)))
	}
	t.Logf("over the wire, contain + release restored the world for the demo victim and %s", c)
}
