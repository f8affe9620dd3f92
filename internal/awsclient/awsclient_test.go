package awsclient_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/firebreak-ir/firebreak/internal/awsclient"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/awssim"
)

// start serves a world over the wire and points the SDK's environment at it,
// as the Lambda's environment would.
func start(t *testing.T) (*awsfake.World, *awssim.Server) {
	t.Helper()
	w := awsfake.New("123456789012", "us-east-1")
	w.SeedDemo("i-0abc1234def567890")
	srv := awssim.New(awssim.Backend{Clients: w.Clients(), STS: w.STS()})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	endpoint, err := srv.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return w, srv
}

func TestOwnAccountFromSTSOnceAndClientsPerRegion(t *testing.T) {
	_, srv := start(t)
	ctx := context.Background()
	f, err := awsclient.Load(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		own, err := f.OwnAccount(ctx)
		if err != nil || own != "123456789012" {
			t.Fatalf("own account %q, %v", own, err)
		}
	}
	if n := srv.Stats()["sts:GetCallerIdentity"].Calls; n != 1 {
		t.Errorf("GetCallerIdentity called %d times, want once per process", n)
	}
	c, err := f.For(ctx, "123456789012", "")
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0abc1234def567890"}})
	if err != nil || len(out.Reservations) != 1 {
		t.Fatalf("describing through the built clients: %v", err)
	}
	again, _ := f.For(ctx, "", "us-east-1")
	if again.EC2 != c.EC2 {
		t.Error("clients were built twice for one account and Region")
	}
}

func TestOtherAccountIsRefused(t *testing.T) {
	start(t)
	f, err := awsclient.Load(context.Background(), "123456789012")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.For(context.Background(), "210987654321", "us-east-1")
	if !errors.Is(err, awsclient.ErrOtherAccount) {
		t.Fatalf("want ErrOtherAccount, got %v", err)
	}
}

// A throttled EC2 call is retried beyond the SDK's default 3 attempts, and
// AWS_MAX_ATTEMPTS still wins when set.
func TestRetriesOutlastThrottling(t *testing.T) {
	for _, tc := range []struct {
		name        string
		maxAttempts string
		failures    int
		wantErr     bool
	}{
		{"default survives 5 throttles", "", 5, false},
		{"AWS_MAX_ATTEMPTS=2 gives up", "2", 5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := start(t)
			if tc.maxAttempts != "" {
				t.Setenv("AWS_MAX_ATTEMPTS", tc.maxAttempts)
			}
			ctx := context.Background()
			f, err := awsclient.Load(ctx, "123456789012")
			if err != nil {
				t.Fatal(err)
			}
			c, _ := f.For(ctx, "", "")
			srv.FailNext("ec2:DescribeInstances", tc.failures, "RequestLimitExceeded")
			_, err = c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0abc1234def567890"}},
				func(o *ec2.Options) { o.Retryer = fastBackoff(o.Retryer) })
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

// fastBackoff keeps the attempts and the classification, without the waits.
func fastBackoff(r aws.Retryer) aws.Retryer { return noWait{r} }

type noWait struct{ aws.Retryer }

func (noWait) RetryDelay(int, error) (time.Duration, error) { return 0, nil }

// Every request sent under a counting context is counted, retries included,
// and only those: the counter is per invocation.
func TestCountCallsCountsEveryAttemptOfItsContext(t *testing.T) {
	_, srv := start(t)
	f, err := awsclient.Load(context.Background(), "123456789012")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := f.For(context.Background(), "", "")
	describe := func(ctx context.Context) {
		t.Helper()
		_, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0abc1234def567890"}},
			func(o *ec2.Options) { o.Retryer = fastBackoff(o.Retryer) })
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx, calls := awsclient.CountCalls(context.Background())
	srv.FailNext("ec2:DescribeInstances", 2, "RequestLimitExceeded")
	describe(ctx)
	describe(ctx)
	describe(context.Background())
	if got := calls.Load(); got != 4 {
		t.Errorf("counted %d requests, want 4 (3 attempts, then 1)", got)
	}
	if got := srv.Stats()["ec2:DescribeInstances"].Attempts; got != 5 {
		t.Errorf("the simulator saw %d requests, want 5", got)
	}
}
