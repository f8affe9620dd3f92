// Command sim runs the wire-level AWS simulator on loopback, seeded with the
// demo world, so the AWS CLI or the Lambda binary can be pointed at it with
// AWS_ENDPOINT_URL. It prints the endpoint, the export lines and the demo's
// resource ids, and stops on SIGINT or SIGTERM, printing what it served.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/awssim"
)

// Credentials the simulator accepts; it reads the SigV4 scope but does not
// check signatures.
const (
	accessKeyID     = "AKIDSIMULATOR"
	secretAccessKey = "simulator-secret"
	region          = "us-east-1"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "sim:", err)
		os.Exit(1)
	}
}

type options struct {
	account, victim     string
	latency, jitter     time.Duration
	throttle, errorRate float64
	buckets             float64
	seed                uint64
	tls, verbose        bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.account, "account", "123456789012", "account id of the simulated AWS")
	fs.StringVar(&o.victim, "victim", "i-0abc1234def567890", "instance id of the demo victim")
	fs.DurationVar(&o.latency, "latency", 0, "latency added to every request")
	fs.DurationVar(&o.jitter, "jitter", 0, "random latency added on top of -latency, up to this")
	fs.Float64Var(&o.throttle, "throttle", 0, "fraction of requests answered with the service's throttling error")
	fs.Float64Var(&o.errorRate, "server-errors", 0, "fraction of requests answered with HTTP 500 or 503")
	fs.Float64Var(&o.buckets, "token-buckets", 0, "throttle EC2 with its token buckets, refill rates scaled by this factor (0: off, 1: AWS's rates)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the random fault choices")
	fs.BoolVar(&o.tls, "tls", false, "serve HTTPS with a self-signed certificate")
	fs.BoolVar(&o.verbose, "v", false, "log every request to stderr")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	for name, rate := range map[string]float64{"-throttle": o.throttle, "-server-errors": o.errorRate} {
		if rate < 0 || rate > 1 {
			return o, fmt.Errorf("%s must be between 0 and 1, got %v", name, rate)
		}
	}
	if o.buckets < 0 || o.latency < 0 || o.jitter < 0 {
		return o, errors.New("-token-buckets, -latency and -jitter must not be negative")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	world := awsfake.New(o.account, region)
	demo := world.SeedDemo(o.victim)

	opts := []awssim.Option{awssim.WithSeed(o.seed)}
	if o.verbose {
		opts = append(opts, awssim.WithLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	if o.latency > 0 || o.jitter > 0 {
		opts = append(opts, awssim.WithLatency("*", o.latency, o.latency+o.jitter))
	}
	if o.throttle > 0 {
		opts = append(opts, awssim.WithThrottleRate("*", o.throttle))
	}
	if o.errorRate > 0 {
		opts = append(opts, awssim.WithServerErrorRate("*", o.errorRate))
	}
	if o.buckets > 0 {
		opts = append(opts, awssim.WithTokenBuckets(o.buckets))
	}
	if o.tls {
		opts = append(opts, awssim.WithTLS())
	}
	sim := awssim.New(awssim.Backend{Clients: world.Clients(), STS: world.STS()}, opts...)
	endpoint, err := sim.Start(ctx)
	if err != nil {
		return err
	}
	printBanner(stdout, endpoint, o, demo)
	<-ctx.Done()
	_ = sim.Close()
	printStats(stdout, sim.Stats())
	return nil
}

func printBanner(w io.Writer, endpoint string, o options, d awsfake.Demo) {
	fmt.Fprintf(w, "AWS simulator listening on %s (Ctrl-C to stop)\n\n", endpoint)
	fmt.Fprintf(w, "export AWS_ENDPOINT_URL=%s\n", endpoint)
	fmt.Fprintf(w, "export AWS_REGION=%s AWS_DEFAULT_REGION=%s\n", region, region)
	fmt.Fprintf(w, "export AWS_ACCESS_KEY_ID=%s\n", accessKeyID)
	fmt.Fprintf(w, "export AWS_SECRET_ACCESS_KEY=%s\n", secretAccessKey)
	fmt.Fprintf(w, "unset AWS_SESSION_TOKEN AWS_PROFILE\n")
	if o.tls {
		fmt.Fprintf(w, "# self-signed certificate: aws --no-verify-ssl, or trust it in the client\n")
	}
	fmt.Fprintf(w, "\nDemo world, account %s:\n", o.account)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	rows := [][2]string{
		{"victim", d.Victim},
		{"victim ENIs", fmt.Sprint(d.VictimENIs)},
		{"victim IPs", fmt.Sprint(d.VictimIPs)},
		{"victim volumes", fmt.Sprint(d.VictimVolumes)},
		{"bystander", d.Bystander},
		{"VPC", d.VPC},
		{"subnets", d.SubnetA + " " + d.SubnetB},
		{"network ACL", d.NetworkACL},
		{"security groups", fmt.Sprintf("web %s, app %s, default %s", d.WebGroup, d.AppGroup, d.DefaultGroup)},
		{"Auto Scaling group", d.ASG},
		{"classic load balancer", d.ClassicLB},
		{"instance target group", d.TargetGroup},
		{"ip target group", d.IPTargetGroup},
		{"Lambda target group", d.LambdaTargetGroup},
		{"SNS topic", d.Topic},
		{"evidence bucket", d.Bucket},
		{"guard table (DynamoDB)", d.GuardTable},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\t%s\n", r[0], r[1])
	}
	_ = tw.Flush()
}

func printStats(w io.Writer, st awssim.Stats) {
	if len(st) == 0 {
		fmt.Fprintln(w, "\nNo requests served.")
		return
	}
	fmt.Fprintln(w, "\nRequests served:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\tcalls\tattempts\tthrottled\tfaults\terrors\t")
	for _, k := range st.Keys() {
		s := st[k]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t\n", k, s.Calls, s.Attempts, s.Throttled, s.Faults, s.Errors)
	}
	t := st.Total()
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t%d\t\n", t.Calls, t.Attempts, t.Throttled, t.Faults, t.Errors)
	_ = tw.Flush()
}
