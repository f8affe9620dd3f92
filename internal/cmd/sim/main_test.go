package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestServesTheDemoWorld starts the command, configures an SDK client from
// the export lines it prints, finds the demo victim, then stops it.
func TestServesTheDemoWorld(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-victim", "i-0fedcba9876543210", "-account", "210987654321"}, pw, io.Discard)
		_ = pw.Close()
	}()

	env := map[string]string{}
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		line := lines.Text()
		if rest, ok := strings.CutPrefix(line, "export "); ok {
			for kv := range strings.FieldsSeq(rest) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		}
		if strings.Contains(line, "evidence bucket") {
			break
		}
	}
	// Drain the rest so the command never blocks on its output.
	var tail strings.Builder
	tailDone := make(chan struct{})
	go func() {
		_, _ = io.Copy(&tail, pr)
		close(tailDone)
	}()

	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if env[k] == "" {
			t.Fatalf("no export line for %s in %v", k, env)
		}
	}
	t.Setenv("AWS_CA_BUNDLE", "")
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion(env["AWS_REGION"]),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithBaseEndpoint(env["AWS_ENDPOINT_URL"]),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], "")),
		// The SDK's default client and retries, as the AWS CLI or the Lambda
		// would use them: against a loopback server a reused connection is
		// now and then closed under a response by an SDK race, and retried.
		config.WithRetryMaxAttempts(3),
	)
	if err != nil {
		t.Fatalf("loading the SDK config: %v", err)
	}
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("asking who we are: %v", err)
	}
	if got := aws.ToString(who.Account); got != "210987654321" {
		t.Errorf("account %s, want the -account flag's", got)
	}
	out, err := ec2.NewFromConfig(cfg).DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0fedcba9876543210"}})
	if err != nil {
		t.Fatalf("describing the victim: %v", err)
	}
	if len(out.Reservations) != 1 || len(out.Reservations[0].Instances[0].NetworkInterfaces) != 2 {
		t.Errorf("victim not seeded as the demo's two-interface instance: %+v", out.Reservations)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run returned %v", err)
	}
	<-tailDone
	for _, want := range []string{"ec2:DescribeInstances", "sts:GetCallerIdentity", "total"} {
		if !strings.Contains(tail.String(), want) {
			t.Errorf("exit summary lacks %q:\n%s", want, tail.String())
		}
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"-latency", "20ms", "-jitter", "5ms", "-throttle", "0.3", "-server-errors", "0.05", "-token-buckets", "10"}, ""},
		{[]string{"-throttle", "1.5"}, "-throttle must be between 0 and 1"},
		{[]string{"-server-errors", "-0.1"}, "-server-errors must be between 0 and 1"},
		{[]string{"-latency", "-1s"}, "must not be negative"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		_, err := parseFlags(tt.args, io.Discard)
		if tt.wantErr == "" && err != nil {
			t.Errorf("%v: %v", tt.args, err)
		}
		if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%v: error %v, want %q", tt.args, err, tt.wantErr)
		}
	}
}
