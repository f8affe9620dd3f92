package awssim_test

import (
	"context"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/internal/awssim"
)

// TestTokenBucketsThrottleAndTheSDKRetries bursts more CreateTags than
// EC2's bucket holds (100): the excess is answered RequestLimitExceeded and
// the SDK's standard retryer gets every call through once tokens refill.
func TestTokenBucketsThrottleAndTheSDKRetries(t *testing.T) {
	w, d := demoWorld()
	// Each reading of the clock moves it 25 ms: a request refills 0.25
	// token at CreateTags' 10/s, whatever the machine's speed, so once the
	// bucket is empty every fourth attempt gets through.
	var mu sync.Mutex
	now := time.Unix(0, 0)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(25 * time.Millisecond)
		return now
	}
	sim := startSim(t, awssim.Backend{Clients: w.Clients(), STS: w.STS()}, awssim.WithClock(clock), awssim.WithTokenBuckets(1))
	client := ec2.NewFromConfig(sdkConfig(t, sim, 20))

	const calls = 160
	for range calls {
		_, err := client.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{d.Victim},
			Tags: []ec2types.Tag{{Key: aws.String("firebreak:status"), Value: aws.String("contained")}}})
		if err != nil {
			t.Fatalf("a call failed despite retries: %v", err)
		}
	}
	st := sim.Stats()["ec2:CreateTags"]
	if st.Calls != calls {
		t.Errorf("calls = %d, want %d", st.Calls, calls)
	}
	if st.Throttled == 0 {
		t.Errorf("nothing throttled: %d calls fit a 100-token bucket", calls)
	}
	if st.Attempts != st.Calls+st.Throttled {
		t.Errorf("attempts = %d, want calls + throttled retries = %d", st.Attempts, st.Calls+st.Throttled)
	}
	if got := tagValue(w.Instance(d.Victim).Tags, "firebreak:status"); got != "contained" {
		t.Errorf("victim tag = %q, want contained", got)
	}
}

// TestRandomFaultsAreRetried answers a share of every service's calls with
// throttling or a 500/503 and checks the standard retryer absorbs them.
func TestRandomFaultsAreRetried(t *testing.T) {
	tests := []struct {
		name string
		opt  awssim.Option
		// counter picks the OpStats field the fault shows up in.
		counter func(awssim.OpStats) int
	}{
		{"30% throttled", awssim.WithThrottleRate("*", 0.3), func(s awssim.OpStats) int { return s.Throttled }},
		{"30% HTTP 500 or 503", awssim.WithServerErrorRate("*", 0.3), func(s awssim.OpStats) int { return s.Faults }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, d := demoWorld()
			sim := startSim(t, awssim.Backend{Clients: w.Clients(), STS: w.STS()}, tt.opt, awssim.WithSeed(7))
			c := sdkClients(sdkConfig(t, sim, 20), true)
			ctx := context.Background()
			for range 20 {
				calls := []func() error{
					func() error {
						_, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{d.Victim}})
						return err
					},
					func() error {
						_, err := c.AutoScaling.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{d.Victim}})
						return err
					},
					func() error {
						_, err := c.ELBV2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(d.TargetGroup)})
						return err
					},
					func() error {
						_, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
						return err
					},
					func() error {
						_, err := c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(d.Bucket), Key: aws.String("k"), Body: strings.NewReader("v")})
						return err
					},
				}
				for _, call := range calls {
					if err := call(); err != nil {
						t.Fatalf("a call failed despite retries: %v", err)
					}
				}
			}
			total := sim.Stats().Total()
			if total.Calls != 100 {
				t.Errorf("calls = %d, want 100", total.Calls)
			}
			if faults := tt.counter(total); faults == 0 || total.Attempts != total.Calls+faults {
				t.Errorf("attempts = %d with %d faults over %d calls, want calls + faults and some faults", total.Attempts, faults, total.Calls)
			}
		})
	}
}

// TestLostResponsesExposeNonIdempotentRetries lets CreateSnapshots run and
// then answers 500: the SDK retries and a second snapshot set appears,
// which is exactly what the runbook's tag check must prevent.
func TestLostResponsesExposeNonIdempotentRetries(t *testing.T) {
	w, d := demoWorld()
	sim := startSim(t, awssim.Backend{Clients: w.Clients(), STS: w.STS()})
	client := ec2.NewFromConfig(sdkConfig(t, sim, 3))
	sim.SetLostResponseRate("ec2:CreateSnapshots", 1)
	_, err := client.CreateSnapshots(context.Background(), &ec2.CreateSnapshotsInput{
		InstanceSpecification: &ec2types.InstanceSpecification{InstanceId: aws.String(d.Victim)}})
	assertWireError(t, err, "InternalError", 500)
	st := sim.Stats()["ec2:CreateSnapshots"]
	if st.Attempts != 3 || st.Faults != 3 {
		t.Errorf("attempts %d, faults %d: want 3 each", st.Attempts, st.Faults)
	}
	if got, want := len(w.Snapshots()), 3*len(d.VictimVolumes); got != want {
		t.Errorf("snapshots = %d, want %d: every lost answer still took effect", got, want)
	}

	sim.SetLostResponseRate("ec2:CreateSnapshots", 0)
	if _, err := client.CreateSnapshots(context.Background(), &ec2.CreateSnapshotsInput{
		InstanceSpecification: &ec2types.InstanceSpecification{InstanceId: aws.String(d.Victim)}}); err != nil {
		t.Fatalf("with the fault off: %v", err)
	}
}

// TestServerErrorRecoveredByRetry fails one DescribeInstances with a 503:
// the SDK retries and the caller never sees it.
func TestServerErrorRecoveredByRetry(t *testing.T) {
	w, d := demoWorld()
	sim := startSim(t, awssim.Backend{Clients: w.Clients(), STS: w.STS()}, awssim.WithFailNext("ec2:DescribeInstances", 1, "Unavailable"))
	client := ec2.NewFromConfig(sdkConfig(t, sim, 3))
	out, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{d.Victim}})
	if err != nil {
		t.Fatalf("describing after a 503: %v", err)
	}
	if len(out.Reservations) != 1 {
		t.Errorf("got %d reservations, want 1", len(out.Reservations))
	}
	want := awssim.OpStats{Calls: 1, Attempts: 2, Faults: 1}
	if got := sim.Stats()["ec2:DescribeInstances"]; got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
}

// TestOneOffErrorCodes injects error codes into the next calls of one
// operation and checks the code and HTTP status each protocol carries,
// statuses of modelled errors coming from the SDK's own schemas.
func TestOneOffErrorCodes(t *testing.T) {
	w, d := demoWorld()
	sim, c := serve(t, w)
	ctx := context.Background()
	tests := []struct {
		op, code string
		status   int
		call     func() error
	}{
		{"ec2:CreateTags", "UnauthorizedOperation", 403, func() error {
			_, err := c.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{d.Victim}, Tags: []ec2types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
			return err
		}},
		{"ec2:DescribeInstances", "RequestLimitExceeded", 503, func() error {
			_, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			return err
		}},
		{"autoscaling:DetachInstances", "ResourceContention", 500, func() error {
			_, err := c.AutoScaling.DetachInstances(ctx, &autoscaling.DetachInstancesInput{AutoScalingGroupName: aws.String(d.ASG),
				InstanceIds: []string{d.Victim}, ShouldDecrementDesiredCapacity: aws.Bool(false)})
			return err
		}},
		{"elasticloadbalancingv2:DescribeTargetGroups", "Throttling", 400, func() error {
			_, err := c.ELBV2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{})
			return err
		}},
		{"sns:Publish", "AuthorizationError", 403, func() error {
			_, err := c.SNS.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(d.Topic), Message: aws.String("m")})
			return err
		}},
		{"sts:GetCallerIdentity", "ExpiredToken", 400, func() error {
			_, err := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		}},
		{"s3:PutObject", "SlowDown", 503, func() error {
			_, err := c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(d.Bucket), Key: aws.String("k"), Body: strings.NewReader("v")})
			return err
		}},
		{"s3:PutObject", "AccessDenied", 403, func() error {
			_, err := c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(d.Bucket), Key: aws.String("k"), Body: strings.NewReader("v")})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.op+" "+tt.code, func(t *testing.T) {
			sim.ResetStats()
			sim.FailNext(tt.op, 2, tt.code)
			for range 2 {
				assertWireError(t, tt.call(), tt.code, tt.status)
			}
			if err := tt.call(); err != nil {
				t.Fatalf("third call, after the two injected failures: %v", err)
			}
			if got := sim.Stats()[tt.op]; got.Faults != 2 || got.Calls != 3 {
				t.Errorf("stats = %+v, want 2 faults over 3 calls", got)
			}
		})
	}
}
