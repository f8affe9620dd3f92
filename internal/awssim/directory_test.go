package awssim_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithy "github.com/aws/smithy-go"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/awssim"
)

// orgOverWire serves a security account and a member, routed by access key.
func orgOverWire(t *testing.T, opts ...awssim.Option) (*awssim.Server, *awsfake.Organization, *awsfake.World, *awsfake.World) {
	t.Helper()
	sec, mem := awsfake.New("111111111111", "us-east-1"), awsfake.New("222222222222", "us-east-1")
	o := awsfake.NewOrganization("o-exampleorg1", sec, mem)
	o.AddAccessKey("AKIDSIMULATOR", awsfake.FunctionPrincipal("111111111111"))
	mem.AddRole("FirebreakMember", awsfake.Trust{Account: "111111111111"})
	return startSim(t, awssim.Backend{}, append(opts, awssim.WithDirectory(o))...), o, sec, mem
}

func withKey(cfg aws.Config, key, secret, token string) aws.Config {
	cfg = cfg.Copy()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(key, secret, token)
	return cfg
}

// A request acts on the world of the account its key belongs to, and only
// there; AssumeRole's credentials are the member's.
func TestDirectoryRoutesByAccessKey(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	sim, _, sec, mem := orgOverWire(t, awssim.WithObserver(func(r awssim.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen[r.Account+" "+r.Service]++
	}))
	secVictim, memVictim := sec.SeedDemo("i-0aaaaaaaaaaaaaaa1").Victim, mem.SeedDemo("i-0bbbbbbbbbbbbbbb2").Victim
	cfg := sdkConfig(t, sim, 1)
	ctx := context.Background()

	out, err := sts.NewFromConfig(cfg).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::222222222222:role/FirebreakMember"),
		RoleSessionName: aws.String("firebreak-contain"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatalf("AssumeRole over the wire: %v", err)
	}
	c := out.Credentials
	member := ec2.NewFromConfig(withKey(cfg, aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)))
	own := ec2.NewFromConfig(cfg)
	for _, tt := range []struct {
		name   string
		client *ec2.Client
		id     string
		found  bool
	}{
		{"member's key, member's instance", member, memVictim, true},
		{"member's key, security account's instance", member, secVictim, false},
		{"own key, own instance", own, secVictim, true},
		{"own key, member's instance", own, memVictim, false},
	} {
		_, err := tt.client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{tt.id}})
		if found := err == nil; found != tt.found {
			t.Errorf("%s: error %v, want found %v", tt.name, err, tt.found)
		}
	}
	if n := sim.AccountStats("222222222222")["ec2:DescribeInstances"].Calls; n != 2 {
		t.Errorf("%d DescribeInstances counted for the member, want 2", n)
	}
	if n := sim.AccountStats("111111111111")["sts:AssumeRole"].Calls; n != 1 {
		t.Errorf("AssumeRole counted %d times for the caller's account, want 1", n)
	}
	mu.Lock()
	if want := map[string]int{"111111111111 sts": 1, "111111111111 ec2": 2, "222222222222 ec2": 2}; !maps.Equal(seen, want) {
		t.Errorf("observed requests %v, want %v", seen, want)
	}
	mu.Unlock()
	id, err := sts.NewFromConfig(withKey(cfg, aws.ToString(c.AccessKeyId), "s", "t")).GetCallerIdentity(ctx, nil)
	if err != nil || aws.ToString(id.Arn) != "arn:aws:sts::222222222222:assumed-role/FirebreakMember/firebreak-contain" {
		t.Errorf("GetCallerIdentity with the member's credentials: %v, %v", aws.ToString(id.Arn), err)
	}
}

// Unknown keys are refused before any operation runs, spelled the way each
// service spells it, and a trust that says no is AccessDenied.
func TestDirectoryRefusesUnknownKeys(t *testing.T) {
	sim, _, _, _ := orgOverWire(t)
	cfg := withKey(sdkConfig(t, sim, 1), "AKIDNOBODYKNOWS", "s", "")
	ctx := context.Background()
	_, err := ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if got := errCode(err); got != "AuthFailure" {
		t.Errorf("EC2: %q (%v), want AuthFailure", got, err)
	}
	_, err = sts.NewFromConfig(cfg).GetCallerIdentity(ctx, nil)
	if got := errCode(err); got != "InvalidClientTokenId" {
		t.Errorf("STS: %q (%v), want InvalidClientTokenId", got, err)
	}
	_, err = s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).PutObject(ctx,
		&s3.PutObjectInput{Bucket: aws.String("b"), Key: aws.String("k"), Body: bytes.NewReader(nil)})
	if got := errCode(err); got != "InvalidAccessKeyId" {
		t.Errorf("S3: %q (%v), want InvalidAccessKeyId", got, err)
	}
	if st := sim.Stats(); st.Total().Errors != 0 {
		t.Errorf("refused keys reached the backends: %v", st)
	}
	_, err = sts.NewFromConfig(sdkConfig(t, sim, 1)).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::222222222222:role/SomeoneElses"), RoleSessionName: aws.String("firebreak-contain")})
	if got := errCode(err); got != "AccessDenied" {
		t.Errorf("AssumeRole of a missing role: %q (%v), want AccessDenied", got, err)
	}
}

// EC2 throttles per account and Region: one account's burst leaves another's
// bucket full.
func TestTokenBucketsArePerAccount(t *testing.T) {
	sim, o, _, _ := orgOverWire(t, awssim.WithTokenBuckets(1e-9))
	o.AddAccessKey("AKIDMEMBERADMIN", awsfake.Principal{Account: "222222222222", Role: "Admin", Session: "admin"})
	cfg := sdkConfig(t, sim, 1)
	own, member := ec2.NewFromConfig(cfg), ec2.NewFromConfig(withKey(cfg, "AKIDMEMBERADMIN", "s", ""))
	ctx := context.Background()
	throttled := func(c *ec2.Client, n int) int {
		refused := 0
		for range n {
			_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"i-0aaaaaaaaaaaaaaa1"}, Tags: []ec2types.Tag{{Key: aws.String("k")}}})
			if errCode(err) == "RequestLimitExceeded" {
				refused++
			}
		}
		return refused
	}
	if n := throttled(own, 110); n != 10 {
		t.Errorf("own account: %d of 110 CreateTags throttled, want 10 beyond the bucket of 100", n)
	}
	if n := throttled(member, 100); n != 0 {
		t.Errorf("member: %d of 100 CreateTags throttled after the other account's burst, want none", n)
	}
}

// errCode is the AWS error code of err, "" when it has none.
func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
