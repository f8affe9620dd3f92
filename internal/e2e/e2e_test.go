package e2e_test

import (
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/awssim"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/dynalite"
	"github.com/firebreak-ir/firebreak/internal/e2e"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// The sample events' account and Region, the instance most of them name, and
// the backdoor finding's id.
const (
	account    = "123456789012"
	region     = "us-east-1"
	victim     = "i-0abc1234def567890"
	backdoorID = "411647294fc69b66beba1f3f7bbbc43d"
)

// bins are built once for every test: compiling is most of the cost.
var bins e2e.Binaries

// guardDB is the real DynamoDB implementation (dynalite) the function's
// guard table lives in (AWS_ENDPOINT_URL_DYNAMODB), one table per test;
// every other service is the simulator.
var guardDB *dynalite.Server

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "firebreak-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "making a build directory:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// Under `go test -race` the bootstrap is race-enabled too.
	bins, err = e2e.Build(ctx, dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if guardDB, err = dynalite.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer guardDB.Close()
	return m.Run()
}

// env is one simulated account seeded with the demo world, served over the
// wire, and one Lambda execution environment pointed at it.
type env struct {
	t *testing.T
	w *e2e.World
	f *e2e.Function
	// guard is a client of the dynalite the function's guard table is in.
	guard *dynamodb.Client
	table string
	// dynamo counts the function's requests to dynalite.
	dynamo *counter
	// cfg is the function's configuration, for more environments.
	cfg e2e.FunctionConfig
}

type setup struct {
	victim  string // demo victim; the default one when empty
	askSTS  bool   // no FIREBREAK_ACCOUNT_ID: the function asks STS
	simOpts []awssim.Option
	vars    map[string]string
	// guardTable overrides the guard table's name (a table that does not exist).
	guardTable string
	// seed adds to the demo world before it is served (Security Hub, ...).
	seed func(*awsfake.World)
}

func start(t *testing.T, s setup) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if s.victim == "" {
		s.victim = victim
	}
	aw := awsfake.New(account, region)
	d := aw.SeedDemo(s.victim)
	if s.seed != nil {
		s.seed(aw)
	}
	w, err := e2e.StartWorld(ctx, aw, d, s.simOpts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	cfg := w.FunctionConfig()
	if s.askSTS {
		cfg.AccountID = ""
	}
	e := &env{t: t, w: w}
	var err2 error
	if e.guard, cfg.GuardTable, err2 = guardDB.NewGuardTable(ctx); err2 != nil {
		t.Fatal(err2)
	}
	// The function's DynamoDB requests go through a counter, so its metric
	// line can be checked against every request it sent.
	e.dynamo = countRequests(t, guardDB.Endpoint)
	cfg.DynamoDBEndpoint = e.dynamo.url
	if s.guardTable != "" {
		cfg.GuardTable = s.guardTable
	}
	cfg.Env = s.vars
	e.table, e.cfg = cfg.GuardTable, cfg
	e.f = e.newFunction(ctx, cfg)
	return e
}

// newFunction starts an execution environment: a cold start.
func (e *env) newFunction(ctx context.Context, cfg e2e.FunctionConfig) *e2e.Function {
	e.t.Helper()
	f, err := e2e.StartFunction(ctx, bins, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		_ = f.Close()
		out := f.Output()
		if strings.Contains(out, "WARNING: DATA RACE") {
			e.t.Errorf("the function has a data race:\n%s", out)
		} else if e.t.Failed() {
			e.t.Logf("emulator and function output:\n%s", out)
		}
	})
	return f
}

// invoke sends one event through the emulator.
func (e *env) invoke(f *e2e.Function, payload []byte) ([]byte, error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	return f.Invoke(ctx, payload)
}

// mustInvoke is invoke for an event the function must handle without error;
// it returns the report.
func (e *env) mustInvoke(f *e2e.Function, payload []byte) *report.Report {
	e.t.Helper()
	body, err := e.invoke(f, payload)
	if err != nil {
		e.t.Fatalf("invocation failed: %v", err)
	}
	var rep report.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		e.t.Fatalf("response is not a report: %v\n%s", err, body)
	}
	return &rep
}

// state is everything containment can change, read from the in-memory AWS
// directly (never through the simulator, so Stats count the function alone).
func (e *env) state() map[string]string {
	return e.w.AWS.State(e.w.Demo)
}

// unchanged fails the test for every part of the world that differs from
// before, except the parts named in allowed.
func (e *env) unchanged(before map[string]string, allowed ...string) {
	e.t.Helper()
	after := e.state()
	for _, k := range slices.Sorted(maps.Keys(before)) {
		if before[k] != after[k] && !slices.Contains(allowed, k) {
			e.t.Errorf("%s changed:\n before %s\n after  %s", k, before[k], after[k])
		}
	}
}

// isMutating tells whether an operation ("ec2:CreateTags") can change AWS:
// all but Describe*, Get*, List* and SNS Publish (a notification is not a
// change to the account).
func isMutating(op string) bool {
	_, action, _ := strings.Cut(op, ":")
	read := strings.HasPrefix(action, "Describe") || strings.HasPrefix(action, "Get") || strings.HasPrefix(action, "List")
	return !read && op != "sns:Publish"
}

// mutating lists the mutating operations that reached the simulator, each
// with its attempt count.
func mutating(st awssim.Stats) []string {
	var out []string
	for _, k := range st.Keys() {
		if isMutating(k) {
			out = append(out, fmt.Sprintf("%s x%d", k, st[k].Attempts))
		}
	}
	return out
}

func tagValue(aw *awsfake.World, instanceID, key string) string {
	for _, t := range aw.Instance(instanceID).Tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// snapshotsOf lists the volumes of the snapshots Firebreak took of an instance.
func snapshotsOf(aw *awsfake.World, instanceID string) []string {
	var vols []string
	for _, s := range aw.Snapshots() {
		for _, t := range s.Tags {
			if aws.ToString(t.Key) == contract.TagInstanceID && aws.ToString(t.Value) == instanceID {
				vols = append(vols, aws.ToString(s.VolumeId))
			}
		}
	}
	slices.Sort(vols)
	return vols
}

// contained checks, from the world's state alone, that the demo victim was
// contained for findingID: every part of the runbook left its mark.
func (e *env) contained(findingID string) {
	e.t.Helper()
	containedIn(e.t, e.w.AWS, e.w.Demo, e.w.AWS, e.w.Demo.Bucket, findingID)
}

// containedIn is contained for any account's demo world, whose evidence is
// in bucket of the world evidence (the security account's).
func containedIn(t *testing.T, aw *awsfake.World, d awsfake.Demo, evidence *awsfake.World, bucket, findingID string) {
	t.Helper()

	// isolate: both interfaces in the isolation group only, and it is empty.
	iso := ""
	sgs, err := aw.Clients().EC2.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{})
	if err != nil {
		t.Fatalf("listing security groups: %v", err)
	}
	for _, sg := range sgs.SecurityGroups {
		if aws.ToString(sg.GroupName) == "firebreak-isolation" && aws.ToString(sg.VpcId) == d.VPC {
			iso = aws.ToString(sg.GroupId)
		}
	}
	if iso == "" {
		t.Fatalf("no firebreak-isolation group in %s", d.VPC)
	}
	if rules := aw.SecurityGroupRules(iso); len(rules) != 0 {
		t.Errorf("isolation group %s has %d rules, want none", iso, len(rules))
	}
	for _, id := range d.VictimENIs {
		var groups []string
		for _, g := range aw.NetworkInterface(id).Groups {
			groups = append(groups, aws.ToString(g.GroupId))
		}
		if !slices.Equal(groups, []string{iso}) {
			t.Errorf("%s groups = %v, want only the isolation group %s", id, groups, iso)
		}
	}

	// credentials: the victim's sessions of its role refused (through IAM
	// over the wire), the bystander's that share the role not, no profile.
	denied := awsfake.Principal{Account: aw.Account(), Role: d.Role, Session: d.Victim,
		SourceInstanceARN: "arn:aws:ec2:" + aw.Region() + ":" + aw.Account() + ":instance/" + d.Victim}
	sibling := denied
	sibling.Session, sibling.SourceInstanceARN = d.Bystander, "arn:aws:ec2:"+aw.Region()+":"+aw.Account()+":instance/"+d.Bystander
	if aw.Authorize(denied, "s3:GetObject") == nil || aw.Authorize(sibling, "s3:GetObject") != nil {
		t.Errorf("victim's credentials refused: %v, bystander's allowed: %v", aw.Authorize(denied, "s3:GetObject") != nil, aw.Authorize(sibling, "s3:GetObject") == nil)
	}
	if p := aw.Instance(d.Victim).IamInstanceProfile; p != nil {
		t.Errorf("%s still has instance profile %s", d.Victim, aws.ToString(p.Arn))
	}

	// protect
	if attrs := aw.InstanceAttributes(d.Victim); !attrs.DisableAPITermination {
		t.Errorf("termination protection of %s is off", d.Victim)
	}

	// detach: out of the group, which launched a replacement at the same capacity.
	g := aw.AutoScalingGroup(d.ASG)
	var members []string
	for _, in := range g.Instances {
		members = append(members, aws.ToString(in.InstanceId))
		if aws.ToString(in.InstanceId) == d.Victim {
			t.Errorf("%s is still in %s (%s)", d.Victim, d.ASG, in.LifecycleState)
		} else if in.LifecycleState != astypes.LifecycleStatePending {
			t.Errorf("replacement %s is %s, want Pending", aws.ToString(in.InstanceId), in.LifecycleState)
		}
	}
	if len(members) != 1 || aws.ToInt32(g.DesiredCapacity) != 1 {
		t.Errorf("%s: desired %d, members %v; want desired 1 and one replacement", d.ASG, aws.ToInt32(g.DesiredCapacity), members)
	}

	// deregister: gone from the classic load balancer and both target groups
	// (draining), the bystander still served.
	if got := aw.ClassicLBInstances(d.ClassicLB); !slices.Equal(got, []string{d.Bystander}) {
		t.Errorf("%s instances = %v, want the bystander %s only", d.ClassicLB, got, d.Bystander)
	}
	for _, tg := range []struct {
		arn, victim, bystander string
	}{{d.TargetGroup, d.Victim, d.Bystander}, {d.IPTargetGroup, d.VictimPrimaryIP, d.BystanderIP}} {
		states := map[string]string{}
		for _, th := range aw.Targets(tg.arn) {
			states[aws.ToString(th.Target.Id)] = string(th.TargetHealth.State)
		}
		if s, ok := states[tg.victim]; ok && s != "draining" {
			t.Errorf("%s: victim target %s is %s, want draining or gone", tg.arn, tg.victim, s)
		}
		if s := states[tg.bystander]; s != "healthy" {
			t.Errorf("%s: bystander target %s is %q, want healthy", tg.arn, tg.bystander, s)
		}
	}

	// snapshot: one per volume, exactly one set.
	if got, want := snapshotsOf(aw, d.Victim), slices.Sorted(slices.Values(d.VictimVolumes)); !slices.Equal(got, want) {
		t.Errorf("snapshots of volumes %v, want one of each of %v", got, want)
	}

	// tag
	for key, want := range map[string]string{contract.TagStatus: contract.StatusContained, contract.TagFindingID: findingID} {
		if got := tagValue(aw, d.Victim, key); got != want {
			t.Errorf("tag %s = %q, want %q", key, got, want)
		}
	}

	// capture: the pre-change record, with a SHA-256 that matches its bytes.
	var capture *awsfake.Object
	for _, o := range evidence.Objects() {
		if o.Bucket == bucket && strings.Contains(o.Key, d.Victim) && strings.HasSuffix(o.Key, "/capture.json") {
			capture = &o
		}
	}
	if capture == nil {
		t.Fatalf("no capture.json for %s in %s", d.Victim, bucket)
	}
	sum := sha256.Sum256(capture.Body)
	if got := capture.Metadata["sha256"]; got != hex.EncodeToString(sum[:]) {
		t.Errorf("evidence sha256 metadata %q, want %x", got, sum)
	}
	if got := capture.ChecksumSHA256; got != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("evidence S3 checksum %q does not match its body", got)
	}
	if !json.Valid(capture.Body) {
		t.Errorf("evidence is not JSON:\n%s", capture.Body)
	}
	// Written before any change: the interfaces still in their own groups.
	for _, want := range append(slices.Clone(d.VictimENIs), d.WebGroup, d.AppGroup) {
		if !strings.Contains(string(capture.Body), want) {
			t.Errorf("evidence does not mention %s", want)
		}
	}
}

// published returns the SNS messages published since the nth.
func (e *env) published(since int) []awsfake.Message { return e.w.AWS.Published()[since:] }

func TestContainsTheDemoVictim(t *testing.T) {
	t.Parallel()
	// Without FIREBREAK_ACCOUNT_ID, as a deployment may run: the function
	// asks STS through the simulator which account it is in.
	e := start(t, setup{askSTS: true})
	rep := e.mustInvoke(e.f, events.Must("guardduty-backdoor-c2.json"))
	if rep.Decision != report.Contain || rep.InstanceID != victim {
		t.Fatalf("decision %q on %q, want contain on %s", rep.Decision, rep.InstanceID, victim)
	}
	e.contained(backdoorID)

	msgs := e.published(0)
	if len(msgs) != 1 {
		t.Fatalf("published %d messages, want 1", len(msgs))
	}
	if m := msgs[0]; m.TopicARN != e.w.Demo.Topic || !strings.Contains(m.Subject, "CONTAINED") || !strings.Contains(m.Subject, victim) {
		t.Errorf("message to %s, subject %q; want the demo topic, CONTAINED and %s", m.TopicARN, m.Subject, victim)
	}
	if got := e.w.AWS.Instance(e.w.Demo.Bystander).NetworkInterfaces[0].Groups; len(got) != 2 {
		t.Errorf("bystander groups = %v, want web and app untouched", got)
	}
	st := e.w.Sim.Stats()
	if n := st["sts:GetCallerIdentity"].Calls; n != 1 {
		t.Errorf("sts:GetCallerIdentity called %d times, want once", n)
	}
	t.Logf("AWS calls for one containment: %d (%d attempts)", st.Total().Calls, st.Total().Attempts)

	// One metric line, raw JSON on the function's stdout, counting what the
	// simulator saw.
	lines := e.metricLines(e.f, 1)
	var m struct {
		Contained, AwsCalls, TimeToIsolationMs, FindingAgeSeconds *float64
		FindingFamily, Kind                                       string
	}
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatalf("metric line %s: %v", lines[0], err)
	}
	took := float64(rep.FinishedAt.Sub(rep.StartedAt).Milliseconds())
	switch {
	case m.Contained == nil || *m.Contained != 1 || m.FindingFamily != "Backdoor" || m.Kind != "contain":
		t.Errorf("metric line %s: want Contained 1 for family Backdoor, kind contain", lines[0])
	case m.AwsCalls == nil || int(*m.AwsCalls) != st.Total().Attempts+int(e.dynamo.n.Load()):
		t.Errorf("AwsCalls %v, but the simulator saw %d requests and DynamoDB %d", m.AwsCalls, st.Total().Attempts, e.dynamo.n.Load())
	case m.TimeToIsolationMs == nil || *m.TimeToIsolationMs <= 0 || *m.TimeToIsolationMs > took+1:
		t.Errorf("TimeToIsolationMs %v, want within the %v ms the containment took", m.TimeToIsolationMs, took)
	case m.FindingAgeSeconds == nil || *m.FindingAgeSeconds <= 0:
		t.Errorf("FindingAgeSeconds %v, want the age of the event's updatedAt", m.FindingAgeSeconds)
	}
}

// metricLines waits for the function to have written n EMF lines (the
// emulator forwards its output as it comes) and returns them.
func (e *env) metricLines(f *e2e.Function, n int) []string {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var lines []string
		for line := range strings.Lines(f.Output()) {
			if strings.HasPrefix(line, "{") && strings.Contains(line, `"_aws":{"Timestamp"`) {
				lines = append(lines, strings.TrimSpace(line))
			}
		}
		if len(lines) >= n || time.Now().After(deadline) {
			if len(lines) != n {
				e.t.Fatalf("the function wrote %d metric lines, want %d", len(lines), n)
			}
			return lines
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRedelivery: once the instance is contained, the same event again or its
// re-published update costs one DescribeInstances and changes nothing. On a
// fresh execution environment (Lambda may retry anywhere) reads may add up,
// writes may not.
func TestRedelivery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		second  string
		coldEnv bool
	}{
		{"same event twice", "guardduty-backdoor-c2.json", false},
		{"re-published update", "guardduty-backdoor-c2-update.json", false},
		{"update on a new execution environment", "guardduty-backdoor-c2-update.json", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := start(t, setup{})
			e.mustInvoke(e.f, events.Must("guardduty-backdoor-c2.json"))
			e.contained(backdoorID)
			before := e.state()
			f := e.f
			if tc.coldEnv {
				f = e.newFunction(context.Background(), e.cfg)
			}
			e.w.Sim.ResetStats()

			rep := e.mustInvoke(f, events.Must(tc.second))
			if !rep.AlreadyContained {
				t.Errorf("report says alreadyContained false (%s)", rep.Reason)
			}
			st := e.w.Sim.Stats()
			if m := mutating(st); len(m) > 0 {
				t.Errorf("re-delivery reached the simulator with %v", m)
			}
			if n := st["ec2:DescribeInstances"].Calls; n != 1 {
				t.Errorf("re-delivery described the instance %d times, want once (%v)", n, st)
			}
			// The verification: the instance, the isolation groups' rules and
			// the termination protection, read at once.
			if !tc.coldEnv && (st.Total().Calls != 3 || st["ec2:DescribeSecurityGroups"].Calls != 1 || st["ec2:DescribeInstanceAttribute"].Calls != 1) {
				t.Errorf("re-delivery made %d calls %v, want the verification's three reads", st.Total().Calls, st)
			}
			t.Logf("calls: %v", st)
			e.unchanged(before)
			e.contained(backdoorID)
		})
	}
}

// TestLeavesTheWorldUntouched: findings that must not lead to containment
// reach no mutating operation, over the wire, and change nothing.
func TestLeavesTheWorldUntouched(t *testing.T) {
	t.Parallel()
	highTarget := edit(t, "guardduty-ssh-bruteforce-target.json", func(detail map[string]any) { detail["severity"] = 8.5 })
	for _, tc := range []struct {
		name    string
		victim  string
		event   []byte
		publish string // subject prefix of the one message expected, "" for none
	}{
		{"sample finding", "", events.Must("guardduty-sample-backdoor.json"), "[SAMPLE]"},
		{"sample finding naming the victim", "", edit(t, "guardduty-sample-backdoor.json", func(detail map[string]any) {
			detail["resource"].(map[string]any)["instanceDetails"].(map[string]any)["instanceId"] = victim
		}), "[SAMPLE]"},
		{"TARGET of SSH brute force", "i-0b45e1d2c3a4f5061", events.Must("guardduty-ssh-bruteforce-target.json"), ""},
		{"TARGET of SSH brute force at high severity", "i-0b45e1d2c3a4f5061", highTarget, "Firebreak"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := start(t, setup{victim: tc.victim})
			before := e.state()
			rep := e.mustInvoke(e.f, tc.event)
			if rep.Decision == report.Contain {
				t.Errorf("decision contain (%s)", rep.Reason)
			}
			if m := mutating(e.w.Sim.Stats()); len(m) > 0 {
				t.Errorf("mutating calls reached the simulator: %v", m)
			}
			msgs := e.published(0)
			switch {
			case tc.publish == "" && len(msgs) > 0:
				t.Errorf("published %q, want nothing", msgs[0].Subject)
			case tc.publish != "" && (len(msgs) != 1 || !strings.HasPrefix(msgs[0].Subject, tc.publish)):
				t.Errorf("published %v, want one message starting %q", msgs, tc.publish)
			}
			e.unchanged(before, "published")
		})
	}
}

func TestManualRequest(t *testing.T) {
	t.Parallel()
	e := start(t, setup{})
	rep := e.mustInvoke(e.f, events.Must("manual-contain.json"))
	if rep.Decision != report.Contain || rep.DryRun {
		t.Fatalf("decision %q dry run %v, want a real containment", rep.Decision, rep.DryRun)
	}
	// A manual request has no finding: its case id stands in for one.
	e.contained("IR-2026-0142")
	if got := tagValue(e.w.AWS, victim, contract.TagCaseID); got != "IR-2026-0142" {
		t.Errorf("tag %s = %q, want the request's case IR-2026-0142", contract.TagCaseID, got)
	}
	if msgs := e.published(0); len(msgs) != 1 {
		t.Errorf("published %d messages, want 1", len(msgs))
	}
}

// TestDryRun: every change is only asked with EC2's DryRun flag (refused
// with DryRunOperation), nothing changes, and the plan is published.
func TestDryRun(t *testing.T) {
	t.Parallel()
	e := start(t, setup{})
	before := e.state()
	rep := e.mustInvoke(e.f, events.Must("manual-dry-run.json"))
	if !rep.DryRun || rep.Decision != report.Contain {
		t.Fatalf("decision %q dry run %v, want a planned containment", rep.Decision, rep.DryRun)
	}
	st := e.w.Sim.Stats()
	for _, k := range st.Keys() {
		if s := st[k]; isMutating(k) && s.Errors != s.Attempts {
			t.Errorf("%s: %d of %d attempts were not refused: the dry run changed something", k, s.Attempts-s.Errors, s.Attempts)
		}
	}
	if m := mutating(st); len(m) == 0 {
		t.Error("no change was asked with DryRun: the plan was not checked against EC2")
	}
	if msgs := e.published(0); len(msgs) != 1 || !strings.HasPrefix(msgs[0].Subject, "[DRY RUN]") {
		t.Errorf("published %v, want one [DRY RUN] message", msgs)
	}
	e.unchanged(before, "published")
}

// TestMalformedPayload: the invocation fails with a function error that says
// what is wrong, before any AWS call.
func TestMalformedPayload(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, payload, want string
	}{
		{"not JSON", `{"instanceId": "i-0abc1234def567890", "reason": `, "nothing was changed"},
		{"JSON of no known shape", `{"hello": "world"}`, "nothing was changed"},
		{"manual request with a malformed instance id", `{"instanceId": "web-1", "reason": "typo"}`, "nothing was changed"},
		{"empty", ``, "nothing was changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := start(t, setup{})
			before := e.state()
			body, err := e.invoke(e.f, []byte(tc.payload))
			var fe *e2e.FunctionError
			if !errors.As(err, &fe) {
				t.Fatalf("invocation returned %v (%s), want a function error", err, body)
			}
			if !strings.Contains(fe.Message, tc.want) {
				t.Errorf("error message %q does not say %q", fe.Message, tc.want)
			}
			if st := e.w.Sim.Stats(); len(st) > 0 {
				t.Errorf("AWS calls for a malformed payload: %v", st)
			}
			e.unchanged(before)
		})
	}
}

// TestContainsUnderThrottling: with 30% of EC2 calls answered
// RequestLimitExceeded, the backdoor event still ends contained, with one
// snapshot set. Failed invocations are retried as Lambda retries an
// asynchronous event (twice).
func TestContainsUnderThrottling(t *testing.T) {
	t.Parallel()
	e := start(t, setup{simOpts: []awssim.Option{awssim.WithThrottleRate("ec2:*", 0.3), awssim.WithSeed(4)}})
	var err error
	attempts := 0
	for attempts < 3 {
		attempts++
		if _, err = e.invoke(e.f, events.Must("guardduty-backdoor-c2.json")); err == nil {
			break
		}
		t.Logf("invocation %d failed: %v", attempts, err)
	}
	if err != nil {
		t.Fatalf("not contained after %d invocations: %v", attempts, err)
	}
	e.contained(backdoorID)
	st := e.w.Sim.Stats().Total()
	if st.Throttled == 0 {
		t.Fatal("no call was throttled: the fault was not injected")
	}
	t.Logf("contained in %d invocation(s): %d calls, %d attempts, %d throttled", attempts, st.Calls, st.Attempts, st.Throttled)
}

// edit returns a sample event with its detail changed.
func edit(t *testing.T, name string, change func(detail map[string]any)) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(events.Must(name), &ev); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
	change(ev["detail"].(map[string]any))
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("encoding %s: %v", name, err)
	}
	return b
}

// TestBuildMatchesThisBinary: the bootstrap is built for this machine, with
// the race detector exactly when the tests have it, otherwise as it ships.
func TestBuildMatchesThisBinary(t *testing.T) {
	t.Parallel()
	bi, err := buildinfo.ReadFile(bins.Bootstrap)
	if err != nil {
		t.Fatalf("reading the bootstrap's build information: %v", err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	want := map[string]string{"GOOS": runtime.GOOS, "GOARCH": runtime.GOARCH, "-tags": "lambda.norpc"}
	if e2e.RaceEnabled() {
		want["-race"] = "true"
	} else {
		want["CGO_ENABLED"], want["-trimpath"] = "0", "true"
	}
	for k, v := range want {
		if settings[k] != v {
			t.Errorf("bootstrap built with %s=%q, want %q", k, settings[k], v)
		}
	}
	if bi.Path != e2e.FunctionPackage {
		t.Errorf("bootstrap is %s, want %s", bi.Path, e2e.FunctionPackage)
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	ms := func(ns ...int) []time.Duration {
		var ds []time.Duration
		for _, n := range ns {
			ds = append(ds, time.Duration(n)*time.Millisecond)
		}
		return ds
	}
	for _, tc := range []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{"none", nil, 0},
		{"one", ms(7), 7 * time.Millisecond},
		{"odd count, unsorted", ms(30, 10, 20), 20 * time.Millisecond},
		{"even count: mean of the middle two", ms(40, 10, 30, 20), 25 * time.Millisecond},
		{"an outlier does not move it", ms(10, 11, 12, 13, 5000), 12 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.in)
			if got := e2e.Median(tc.in); got != tc.want {
				t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
			}
			if !slices.Equal(in, tc.in) {
				t.Errorf("Median reordered its argument: %v", tc.in)
			}
		})
	}
}

// TestMeasureColdStart: each run is a fresh emulator and bootstrap serving
// one invocation; the figures are medians of those runs. No timing is
// asserted, only what the numbers are made of.
func TestMeasureColdStart(t *testing.T) {
	t.Parallel()
	e := start(t, setup{})
	ctx := context.Background()
	ignored := events.Must("guardduty-cloudtrail-api-call.json")
	cs, err := e2e.MeasureColdStart(ctx, bins, e.cfg, ignored, 3)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Runs != 3 || len(cs.Samples) != 3 {
		t.Fatalf("%d runs, %d samples; want 3 of each", cs.Runs, len(cs.Samples))
	}
	if !slices.Contains(cs.Samples, cs.FirstInvoke) {
		t.Errorf("median %v is not one of the samples %v", cs.FirstInvoke, cs.Samples)
	}
	if cs.Ready <= 0 || cs.Ready > slices.Max(cs.Samples) {
		t.Errorf("emulator ready after %v, samples %v: it must be up before it serves", cs.Ready, cs.Samples)
	}
	if st := e.w.Sim.Stats(); len(st) > 0 {
		t.Errorf("an ignored event made AWS calls %v: they would be in the figure", st)
	}

	for _, tc := range []struct {
		name    string
		payload []byte
		runs    int
		want    string
	}{
		{"no runs", ignored, 0, "runs must be at least 1"},
		{"a payload the function refuses", []byte(`{"hello":"world"}`), 2, "cold start 1"},
	} {
		if _, err := e2e.MeasureColdStart(ctx, bins, e.cfg, tc.payload, tc.runs); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
}

// counter is a reverse proxy in front of dynalite that counts requests.
type counter struct {
	url string
	n   atomic.Int64
}

func countRequests(t *testing.T, target string) *counter {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.n.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL
	return c
}
