package loadtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/firebreak-ir/firebreak/internal/awsclient"
	"github.com/firebreak-ir/firebreak/internal/awssim"
	"github.com/firebreak-ir/firebreak/internal/config"
	"github.com/firebreak-ir/firebreak/internal/contract"
)

// Options are shared by every scenario.
type Options struct {
	// TimeScale runs simulated time this many times faster: the simulator's
	// bucket refills, its latency, the SDK's backoff, the runbook's waits,
	// Lambda's retry delays and the function timeout all follow it.
	TimeScale float64
	// Latency is each request's simulated AWS latency, drawn from
	// [Latency[0], Latency[1]] in simulated time.
	Latency [2]time.Duration
	// Concurrency is the number of execution environments, for every
	// scenario but the burst (which sets its own).
	Concurrency int
	Seed        uint64
	// MaxAttempts overrides the SDK's attempts per call (AWS_MAX_ATTEMPTS);
	// 0 keeps production's awsclient.DefaultMaxAttempts.
	MaxAttempts int
	// Logger receives the handler's logs (discarded when nil).
	Logger *slog.Logger
}

// DefaultOptions are what `make bench` runs with.
func DefaultOptions() Options {
	return Options{TimeScale: 5, Latency: [2]time.Duration{20 * time.Millisecond, 60 * time.Millisecond}, Concurrency: 10, Seed: 1}
}

// Metric is one `name: value` line.
type Metric struct {
	Name, Value string
}

// Result is a scenario's figures, in the order they are printed.
type Result struct {
	Metrics []Metric
}

func (r *Result) add(name, format string, args ...any) {
	r.Metrics = append(r.Metrics, Metric{name, fmt.Sprintf(format, args...)})
}

// Get returns a metric's value ("" when absent).
func (r Result) Get(name string) string {
	for _, m := range r.Metrics {
		if m.Name == name {
			return m.Value
		}
	}
	return ""
}

// Write prints one `name: value` line per metric.
func (r Result) Write(w io.Writer) error {
	for _, m := range r.Metrics {
		if _, err := fmt.Fprintf(w, "%s: %s\n", m.Name, m.Value); err != nil {
			return fmt.Errorf("writing %s: %w", m.Name, err)
		}
	}
	return nil
}

// bench is one scenario's simulated account and the function pointed at it.
type bench struct {
	fleet *Fleet
	sim   *awssim.Server
	fn    Function
}

func start(ctx context.Context, o Options, spec FleetSpec, simOpts ...awssim.Option) (*bench, error) {
	if o.TimeScale <= 0 {
		return nil, fmt.Errorf("time scale %v: must be positive", o.TimeScale)
	}
	spec.Seed = o.Seed
	f := NewFleet(spec)
	sim, fn, err := serve(ctx, o, awssim.Backend{Clients: f.World.Clients(), STS: f.World.STS()},
		map[string]string{contract.EnvTopicARN: f.Topic, contract.EnvEvidenceBucket: f.Bucket, contract.EnvGuardTable: f.GuardTable,
			contract.EnvMaxAutomaticContainment: strconv.Itoa(spec.guardCap())}, simOpts...)
	if err != nil {
		return nil, err
	}
	return &bench{fleet: f, sim: sim, fn: fn}, nil
}

// serve starts the simulator over backend with the options' latency and
// configures the function with env as the deployed function's variables.
func serve(ctx context.Context, o Options, backend awssim.Backend, env map[string]string, simOpts ...awssim.Option) (*awssim.Server, Function, error) {
	scale := func(d time.Duration) time.Duration { return time.Duration(float64(d) / o.TimeScale) }
	opts := []awssim.Option{awssim.WithSeed(o.Seed)}
	if o.Latency[1] > 0 {
		opts = append(opts, awssim.WithLatency("*", scale(o.Latency[0]), scale(o.Latency[1])))
	}
	sim := awssim.New(backend, append(opts, simOpts...)...)
	endpoint, err := sim.Start(ctx)
	if err != nil {
		return nil, Function{}, fmt.Errorf("starting the simulator: %w", err)
	}
	// The deployed function's settings: defaults, no account id (asked of STS).
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		_ = sim.Close()
		return nil, Function{}, fmt.Errorf("configuring the function: %w", err)
	}
	return sim, Function{Config: cfg, Endpoint: endpoint, TimeScale: o.TimeScale, MaxAttempts: o.MaxAttempts, Logger: o.Logger}, nil
}

func (b *bench) close() { _ = b.sim.Close() }

func (b *bench) lambda(concurrency int, mode aws.RetryMode) *Lambda {
	fn := b.fn
	fn.RetryMode = mode
	return &Lambda{Function: fn, Concurrency: concurrency}
}

// containAll delivers one finding per victim and reads the world afterwards.
func (b *bench) containAll(ctx context.Context, l *Lambda) (Run, []State, error) {
	evs, err := b.fleet.Events()
	if err != nil {
		return Run{}, nil, err
	}
	run := l.InvokeAll(ctx, evs)
	if err := ctx.Err(); err != nil {
		return run, nil, fmt.Errorf("running the scenario: %w", err)
	}
	return run, b.fleet.Inspect(), nil
}

// containment adds the figures every containment scenario reports.
func (r *Result) containment(name func(string) string, run Run, states []State, st awssim.Stats, fleet interface{ BystandersTouched() []string }) {
	extraSets, noMessage, maxMessages, messages := 0, 0, 0, 0
	problems := map[string]int{}
	for _, s := range states {
		for _, p := range s.Problems {
			problems[kind(p)]++
		}
		if s.SnapshotSets > 1 {
			extraSets++
		}
		if s.Messages == 0 {
			noMessage++
		}
		messages += s.Messages
		maxMessages = max(maxMessages, s.Messages)
	}
	n := float64(max(1, len(states)))
	r.add(name("findings"), "%d", len(states))
	r.add(name("failed-invocations"), "%d", run.Failed())
	r.add(name("lambda-retries"), "%d", run.Retries())
	r.add(name("calls-per-finding"), "%.1f", float64(st.Total().Calls)/n)
	r.add(name("instances-with-extra-snapshot-sets"), "%d", extraSets)
	r.add(name("sns-messages-per-finding"), "%.3f (max %d, findings without one: %d)", float64(messages)/n, maxMessages, noMessage)
	r.add(name("reports-per-finding"), "%.3f", float64(messages)/n)
	r.add(name("bystanders-touched"), "%d", len(fleet.BystandersTouched()))
	if len(problems) > 0 {
		r.add(name("problems"), "%s", joinCounts(problems))
	}
}

// kind drops the resource ids from a problem, so problems can be counted.
func kind(p string) string {
	var words []string
	for _, w := range strings.Fields(p) {
		if strings.Contains(w, "-") && strings.IndexAny(w, "0123456789") >= 0 {
			w = "<id>"
		}
		words = append(words, w)
	}
	return strings.Join(words, " ")
}

func joinCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// snapshotSets is the mean of snapshot sets per instance with its range:
// "exactly one each" reads 1.000 (min 1, max 1).
func snapshotSets(states []State) string {
	sum, lo, hi := 0, 0, 0
	for i, s := range states {
		sum += s.SnapshotSets
		if i == 0 || s.SnapshotSets < lo {
			lo = s.SnapshotSets
		}
		hi = max(hi, s.SnapshotSets)
	}
	return fmt.Sprintf("%.3f (min %d, max %d)", float64(sum)/float64(max(1, len(states))), lo, hi)
}

// Throttled contains victims with EC2's token buckets on and 30% of all
// requests, on every service, answered with the service's throttling error
// (RequestLimitExceeded for EC2).
func Throttled(ctx context.Context, o Options, victims int) (Result, error) {
	b, err := start(ctx, o, FleetSpec{Victims: victims, Bystanders: victims / 10},
		awssim.WithTokenBuckets(o.TimeScale), awssim.WithThrottleRate("*", 0.3))
	if err != nil {
		return Result{}, err
	}
	defer b.close()
	l := b.lambda(o.Concurrency, awsclient.DefaultRetryMode)
	defer l.Close()
	run, states, err := b.containAll(ctx, l)
	if err != nil {
		return Result{}, err
	}
	var r Result
	st := b.sim.Stats()
	r.add("throttled-contained", "%.3f", fraction(states))
	r.add("attempts-per-call", "%.3f", attemptsPerCall(st))
	r.containment(prefixed("throttled-"), run, states, st, b.fleet)
	r.add("throttled-requests-refused", "%.3f", float64(st.Total().Throttled)/float64(max(1, st.Total().Attempts)))
	r.add("throttled-simulated-seconds", "%.1f", run.Elapsed.Seconds()*o.TimeScale)
	return r, nil
}

func prefixed(p string) func(string) string { return func(s string) string { return p + s } }

func attemptsPerCall(st awssim.Stats) float64 {
	t := st.Total()
	return float64(t.Attempts) / float64(max(1, t.Calls))
}

func fraction(states []State) float64 {
	n := 0
	for _, s := range states {
		if s.Contained() {
			n++
		}
	}
	return float64(n) / float64(max(1, len(states)))
}

// ServerErrors contains victims while 5% of all requests on every service
// fail with HTTP 500 or 503 (lost: false), or reach the backend and then
// have their answer replaced by an HTTP 500 (lost: true), so a call that
// took effect looks failed to the client.
func ServerErrors(ctx context.Context, o Options, victims int, lost bool) (Result, error) {
	prefix, fault := "errors-", awssim.WithServerErrorRate("*", 0.05)
	if lost {
		prefix, fault = "lost-", awssim.WithLostResponseRate("*", 0.05)
	}
	b, err := start(ctx, o, FleetSpec{Victims: victims, Bystanders: victims / 10}, fault)
	if err != nil {
		return Result{}, err
	}
	defer b.close()
	l := b.lambda(o.Concurrency, awsclient.DefaultRetryMode)
	defer l.Close()
	run, states, err := b.containAll(ctx, l)
	if err != nil {
		return Result{}, err
	}
	var r Result
	st := b.sim.Stats()
	name := prefixed(prefix)
	r.add(name("contained"), "%.3f", fraction(states))
	sets := "snapshot-sets-per-instance"
	if lost {
		sets = name(sets)
	}
	r.add(sets, "%s", snapshotSets(states))
	r.add(name("attempts-per-call"), "%.3f", attemptsPerCall(st))
	r.containment(name, run, states, st, b.fleet)
	r.add(name("faults-injected"), "%d", st.Total().Faults)
	return r, nil
}

// BurstSpec shapes a burst.
type BurstSpec struct {
	// Findings are delivered at once, one per instance, to as many
	// execution environments.
	Findings  int
	RetryMode aws.RetryMode
	// Concurrency caps the execution environments (the function's reserved
	// concurrency); 0 gives one per finding.
	Concurrency int
	// GroupsExist contains one instance per VPC before the burst, so the
	// isolation groups exist (as after any earlier containment) and only
	// the burst's own calls are measured; otherwise the burst is the
	// account's first containment and every cold environment races to
	// create them.
	GroupsExist bool
	// Accounts spreads the findings over that many member accounts of an
	// organization, the function running in the security account (0: the
	// function's own account only).
	Accounts int
	// SharedRole gives every instance one role: the credentials step's
	// 300 concurrent writes to one role's deny policies.
	SharedRole bool
}

// Suffix tells the variants' metric names apart: "" for the standard
// retry mode with existing groups and an environment per finding, then
// "-adaptive", "-first-ever" and "-concurrency-<n>".
func (s BurstSpec) Suffix() string {
	suffix := ""
	if s.Concurrency > 0 && s.Concurrency < s.Findings {
		suffix += fmt.Sprintf("-concurrency-%d", s.Concurrency)
	}
	if s.RetryMode == aws.RetryModeAdaptive {
		suffix += "-adaptive"
	}
	if !s.GroupsExist {
		suffix += "-first-ever"
	}
	if s.Accounts > 0 {
		suffix += fmt.Sprintf("-%d-accounts", s.Accounts)
	}
	if s.SharedRole {
		suffix += "-shared-role"
	}
	return suffix
}

// Burst delivers one finding per instance all at once against EC2's token
// buckets, and compares the time until the last one is done (Lambda
// retries included) with the least time the buckets allow for the requests
// that got through: the maximum over buckets of (requests - bucket size) /
// refill rate.
func Burst(ctx context.Context, o Options, spec BurstSpec) (Result, error) {
	if spec.Accounts > 0 {
		return burstOrganization(ctx, o, spec)
	}
	warm := 0
	if spec.GroupsExist {
		warm = 2 // victims alternate between the fleet's two VPCs
	}
	b, err := start(ctx, o, FleetSpec{Victims: warm + spec.Findings, Bystanders: spec.Findings / 10, SharedRole: spec.SharedRole}, awssim.WithTokenBuckets(o.TimeScale))
	if err != nil {
		return Result{}, err
	}
	defer b.close()
	evs, err := b.fleet.Events()
	if err != nil {
		return Result{}, err
	}
	run, err := b.burstRun(ctx, o, spec, evs, warm)
	if err != nil {
		return Result{}, err
	}
	states := b.fleet.Inspect()[warm:]
	st := b.sim.Stats()
	name := func(s string) string { return "burst-" + s + spec.Suffix() }
	var r Result
	r.burst(name, time.Duration(float64(run.Elapsed)*o.TimeScale), run.Elapsed, BucketUses(st), "", states, spec.Findings)
	r.add(name("attempts-per-call"), "%.3f", attemptsPerCall(st))
	r.add(name("cold-starts"), "%d", run.ColdStarts)
	r.containment(name, run, states, st, b.fleet)
	r.add(name("ec2-calls-per-finding"), "%s", perOp(st, "ec2:", spec.Findings))
	if spec.SharedRole {
		var victims []string
		for _, v := range b.fleet.Victims[warm:] {
			victims = append(victims, v.InstanceID)
		}
		r.add(name("denied-instances"), "%.3f (%d of %d; bystanders denied: %d of %d)", float64(b.fleet.Denied(victims))/float64(max(1, len(victims))),
			b.fleet.Denied(victims), len(victims), b.fleet.Denied(b.fleet.Bystanders), len(b.fleet.Bystanders))
		r.add(name("iam-calls-per-finding"), "%s", perOp(st, "iam:", spec.Findings))
		r.add(name("deny-policies"), "%d attached to %s", len(b.fleet.World.AttachedPolicies(b.fleet.Role))-1, b.fleet.Role)
	}
	return r, nil
}

// burstRun contains the first warm events one at a time (so the isolation
// groups exist), refills the buckets and zeroes the counters, then delivers
// the rest at once, as EventBridge would on a burst.
func (b *bench) burstRun(ctx context.Context, o Options, spec BurstSpec, evs [][]byte, warm int) (Run, error) {
	if warm > 0 {
		first := b.lambda(1, spec.RetryMode)
		run := first.InvokeAll(ctx, evs[:warm])
		first.Close()
		if run.Failed() > 0 {
			return Run{}, fmt.Errorf("containing one instance per VPC before the burst: %w", run.Invocations[0].Err)
		}
		b.sim.SetTokenBuckets(o.TimeScale)
		b.sim.ResetStats()
	}
	concurrency := spec.Concurrency
	if concurrency <= 0 {
		concurrency = spec.Findings
	}
	l := b.lambda(concurrency, spec.RetryMode)
	defer l.Close()
	run := l.InvokeAll(ctx, evs[warm:])
	if err := ctx.Err(); err != nil {
		return Run{}, fmt.Errorf("running the burst: %w", err)
	}
	return run, nil
}

// burst adds a burst's ratio, containment and timing: the time until the
// last finding was done (simulated and real) against the least time the
// fullest EC2 bucket allows, with every bucket's use (uses sorted fullest
// first; where names the bottleneck's account, "" for a single one).
func (r *Result) burst(name func(string) string, simulated, real time.Duration, uses []BucketUse, where string, states []State, findings int) {
	var bound time.Duration
	bottleneck := "none"
	if len(uses) > 0 && uses[0].Wait > 0 {
		bound, bottleneck = uses[0].Wait, where+uses[0].Name
	}
	ratio := "n/a (no bucket was exhausted)"
	if bound > 0 {
		ratio = fmt.Sprintf("%.2f", simulated.Seconds()/bound.Seconds())
		if where != "" {
			ratio += fmt.Sprintf(" (bound by the busiest account, %s%s, %.1f s)", where, uses[0].Name, bound.Seconds())
		}
	}
	r.add(name("ratio"), "%s", ratio)
	r.add(name("contained"), "%.3f", fraction(states))
	r.add(name("seconds"), "%.1f (simulated; %.2f s real)", simulated.Seconds(), real.Seconds())
	r.add(name("lower-bound-seconds"), "%.1f", bound.Seconds())
	r.add(name("bottleneck"), "%s", bottleneck)
	for _, u := range uses {
		r.add(name("bucket"), "%s%s (%g, %g/s): %d passed (%.2f per finding), %d throttled, needs %.1f s",
			where, u.Name, u.Size, u.PerSecond, u.Tokens, float64(u.Tokens)/float64(max(1, findings)), u.Throttled, u.Wait.Seconds())
	}
}

// WormSpec shapes the guard's scenario: a worm (or a noisy new finding
// type) flags many instances at once.
type WormSpec struct {
	Findings int
	// Cap is maxAutomaticContainments.
	Cap int
	// Throttle answers that fraction of DynamoDB requests with
	// ProvisionedThroughputExceededException.
	Throttle float64
}

// Worm delivers one finding per instance at once, one execution
// environment each, with the guard's cap far below the findings, and reads
// the world: how many instances were contained, how many were left
// untouched and reported, the live tokens in the table, SNS messages per
// finding and the DynamoDB calls it cost.
func Worm(ctx context.Context, o Options, spec WormSpec) (Result, error) {
	opts := []awssim.Option{awssim.WithTokenBuckets(o.TimeScale)}
	suffix := ""
	if spec.Throttle > 0 {
		opts = append(opts, awssim.WithThrottleRate("dynamodb:*", spec.Throttle))
		suffix = "-throttled"
	}
	b, err := start(ctx, o, FleetSpec{Victims: spec.Findings, Bystanders: spec.Findings / 10, GuardCap: spec.Cap}, opts...)
	if err != nil {
		return Result{}, err
	}
	defer b.close()
	l := b.lambda(spec.Findings, awsclient.DefaultRetryMode)
	defer l.Close()
	run, states, err := b.containAll(ctx, l)
	if err != nil {
		return Result{}, err
	}
	contained := 0
	for _, s := range states {
		if s.Contained() {
			contained++
		}
	}
	tokens, holders := b.fleet.Tokens(time.Now())
	st := b.sim.Stats()
	writes, reads, throttled := 0, 0, 0
	for _, k := range st.Keys() {
		if !strings.HasPrefix(k, "dynamodb:") {
			continue
		}
		if isRead(k) {
			reads += st[k].Calls
		} else {
			writes += st[k].Calls
		}
		throttled += st[k].Throttled
	}
	n := float64(max(1, spec.Findings))
	name := func(s string) string { return "guard-" + s + suffix }
	var r Result
	r.add(name("contained"), "%d (cap %d, %d findings at once)", contained, spec.Cap, spec.Findings)
	r.add(name("held"), "%d", len(b.fleet.Held()))
	r.add(name("tokens"), "%d live, held by %d instances", tokens, holders)
	r.containment(name, run, states, st, b.fleet)
	r.add(name("dynamodb-writes-per-finding"), "%.2f (reads %.2f, throttled answers %d)", float64(writes)/n, float64(reads)/n, throttled)
	r.add(name("dynamodb-calls-by-op"), "%s", perOp(st, "dynamodb:", spec.Findings))
	return r, nil
}

// perOp lists calls per finding for each operation with the prefix.
func perOp(st awssim.Stats, prefix string, n int) string {
	var parts []string
	for _, k := range st.Keys() {
		if name, ok := strings.CutPrefix(k, prefix); ok {
			parts = append(parts, fmt.Sprintf("%s=%.2f", name, float64(st[k].Calls)/float64(max(1, n))))
		}
	}
	return strings.Join(parts, " ")
}

// RepeatStorm contains victims, then re-delivers their findings (same
// finding id, new delivery id, as GuardDuty's periodic re-publication or a
// duplicate async delivery would) deliveries times in all, to a fresh set
// of environments, and counts the AWS calls the re-deliveries cost.
func RepeatStorm(ctx context.Context, o Options, victims, deliveries int) (Result, error) {
	b, err := startContained(ctx, o, victims, "the repeat storm")
	if err != nil {
		return Result{}, err
	}
	defer b.close()
	tmpl, err := b.fleet.Events()
	if err != nil {
		return Result{}, err
	}
	evs := make([][]byte, deliveries)
	for i := range evs {
		v := b.fleet.Victims[i%len(b.fleet.Victims)]
		if evs[i], err = FindingEvent(tmpl[i%len(tmpl)], v.InstanceID, v.FindingID, fmt.Sprintf("%08x-0000-4000-8000-%012x", i, 1<<40+i)); err != nil {
			return Result{}, err
		}
	}
	published := len(b.fleet.World.Published())
	b.sim.ResetStats()
	storm := b.lambda(o.Concurrency, awsclient.DefaultRetryMode)
	defer storm.Close()
	run := storm.InvokeAll(ctx, evs)
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("running the repeat storm: %w", err)
	}
	st := b.sim.Stats()
	reads, writes, guardReads, guardWrites := 0, 0, 0, 0
	for k, op := range st {
		switch {
		case strings.HasPrefix(k, "dynamodb:") && isRead(k):
			guardReads += op.Calls
		case strings.HasPrefix(k, "dynamodb:"):
			// Firebreak's own table: the guard takes a token beside the
			// description and gives it back when the instance is contained.
			guardWrites += op.Calls
		case isRead(k):
			reads += op.Calls
		default:
			writes += op.Calls
		}
	}
	n := float64(deliveries)
	di := st["ec2:DescribeInstances"].Calls
	// Every event's own reads: the instance, and its verification's
	// termination protection and isolation groups.
	perEvent := di + st["ec2:DescribeInstanceAttribute"].Calls + min(st["ec2:DescribeSecurityGroups"].Calls, deliveries)
	var r Result
	r.add("repeat-calls-per-event", "%.3f (and the guard's table: %.3f)", float64(reads+writes)/n, float64(guardReads+guardWrites)/n)
	r.add("repeat-writes-per-event", "%.3f", float64(writes)/n)
	r.add("repeat-reads-per-event", "%.3f", float64(reads)/n)
	r.add("repeat-describe-instances-per-event", "%.3f", float64(di)/n)
	r.add("repeat-cold-starts", "%d", run.ColdStarts)
	r.add("repeat-calls-per-cold-start", "%.2f", float64(reads+writes-perEvent)/float64(max(1, run.ColdStarts)))
	r.add("repeat-guard-writes-per-event", "%.3f", float64(guardWrites)/n)
	r.add("repeat-guard-reads-per-event", "%.3f", float64(guardReads)/n)
	r.add("repeat-calls-by-op", "%s", perOp(st, "", deliveries))
	r.add("repeat-sns-messages", "%d", len(b.fleet.World.Published())-published)
	r.add("repeat-failed-invocations", "%d", run.Failed())
	return r, nil
}

// isRead tells reads (Describe*, Get*, STS GetCallerIdentity, DynamoDB
// Query) from writes.
func isRead(op string) bool {
	_, action, _ := strings.Cut(op, ":")
	return strings.HasPrefix(action, "Describe") || strings.HasPrefix(action, "Get") || action == "Query"
}

// startContained starts a fleet of victims and contains every one of them,
// as the scenarios about contained instances begin.
func startContained(ctx context.Context, o Options, victims int, what string) (*bench, error) {
	b, err := start(ctx, o, FleetSpec{Victims: victims})
	if err != nil {
		return nil, err
	}
	first := b.lambda(o.Concurrency, awsclient.DefaultRetryMode)
	_, states, err := b.containAll(ctx, first)
	first.Close()
	if err == nil && fraction(states) != 1 {
		err = fmt.Errorf("preparing %s: only %.3f of the victims were contained", what, fraction(states))
	}
	if err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}
