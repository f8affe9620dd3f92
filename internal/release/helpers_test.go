package release_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/config"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/handler"
	"github.com/firebreak-ir/firebreak/internal/report"
)

const (
	account  = "123456789012"
	region   = "us-east-1"
	victimID = "i-0abc1234def567890"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// env is a world, the contain function's handler and the release
// function's, both on the world's clock, as the two Lambdas of one account.
type env struct {
	t       *testing.T
	w       *awsfake.World
	d       awsfake.Demo
	contain *handler.Handler
	release *handler.Release
}

func demoEnv(t *testing.T, nacl bool) *env {
	t.Helper()
	w := awsfake.New(account, region)
	d := w.SeedDemo(victimID)
	return newEnv(t, w, d, handler.Clients(awsfake.Factory{W: w}), nacl)
}

func newEnv(t *testing.T, w *awsfake.World, d awsfake.Demo, clients handler.Clients, nacl bool) *env {
	t.Helper()
	cfg := testConfig(t, d, nacl)
	return &env{t: t, w: w, d: d,
		contain: handler.New(cfg, clients, quiet, handler.WithClock(w.Now)),
		release: handler.NewRelease(cfg, clients, quiet, handler.WithClock(w.Now))}
}

func testConfig(t *testing.T, d awsfake.Demo, nacl bool) config.Config {
	t.Helper()
	isolation := contract.IsolationSG
	if nacl {
		isolation = contract.IsolationSGNACL
	}
	env := map[string]string{contract.EnvTopicARN: d.Topic, contract.EnvEvidenceBucket: d.Bucket, contract.EnvGuardTable: d.GuardTable,
		contract.EnvAccountID: account, contract.EnvIsolation: isolation}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func manualContain(id string) []byte {
	return fmt.Appendf(nil, `{"instanceId":%q,"reason":"containment for the test","dryRun":false}`, id)
}

func manualRelease(id string, dryRun, reattach bool) []byte {
	return fmt.Appendf(nil, `{"instanceId":%q,"reason":"false positive","dryRun":%v,"reattach":%v,"requestedBy":"tester"}`, id, dryRun, reattach)
}

// containVictim contains the victim and checks it worked.
func (e *env) containVictim() *report.Report {
	e.t.Helper()
	reps, err := e.contain.Handle(context.Background(), manualContain(e.d.Victim))
	if err != nil || len(reps) != 1 || len(reps[0].Failed()) > 0 {
		e.t.Fatalf("containment: %v %s", err, stepsOf(reps))
	}
	return reps[0]
}

// releaseVictim sends a release request and returns its one report.
func (e *env) releaseVictim(dryRun, reattach bool) (*report.Report, error) {
	e.t.Helper()
	reps, err := e.release.Handle(context.Background(), manualRelease(e.d.Victim, dryRun, reattach))
	if len(reps) != 1 {
		e.t.Fatalf("release: %d reports, %v", len(reps), err)
	}
	return reps[0], err
}

func stepsOf(reps []*report.Report) string {
	var b strings.Builder
	for _, r := range reps {
		fmt.Fprintf(&b, "%s %s: %s\n", r.Kind, r.Decision, r.Reason)
		for _, s := range r.Steps {
			fmt.Fprintf(&b, "  %-16s %-14s %s %s %s %v\n", s.Name, s.Status, s.Detail, s.Error, s.Message, s.Actions)
		}
	}
	return b.String()
}

func stepOf(t *testing.T, r *report.Report, name string) report.Step {
	t.Helper()
	if s := r.Step(name); s != nil {
		return *s
	}
	t.Fatalf("no step %s in %s", name, stepsOf([]*report.Report{r}))
	return report.Step{}
}

// wantStatuses checks the steps are the release steps in order, the listed
// ones with the given status and the others not failed.
func wantStatuses(t *testing.T, r *report.Report, want map[string]report.Status) {
	t.Helper()
	var names []string
	for _, s := range r.Steps {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, report.ReleaseStepNames) {
		t.Fatalf("steps %v, want %v", names, report.ReleaseStepNames)
	}
	for _, s := range r.Steps {
		w, ok := want[s.Name]
		switch {
		case ok && s.Status != w:
			t.Errorf("step %s: %s (%s %s: %s), want %s", s.Name, s.Status, s.Error, s.Message, s.Detail, w)
		case !ok && s.Status == report.Failed:
			t.Errorf("step %s failed: %s %s: %s", s.Name, s.Error, s.Message, s.Detail)
		}
	}
}

func groupsOf(w *awsfake.World, eni string) []string {
	var out []string
	for _, g := range w.NetworkInterface(eni).Groups {
		out = append(out, aws.ToString(g.GroupId))
	}
	return out
}

func tagsOf(w *awsfake.World, id string) map[string]string {
	out := map[string]string{}
	for _, t := range w.Instance(id).Tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

// writes lists the calls that change something (not Describe, Get or List).
// The guard's and the report record's DynamoDB items are Firebreak's own
// bookkeeping, never the account's resources: they are not counted.
func writes(calls map[string]int) []string {
	var out []string
	for op := range calls {
		bookkeeping := slices.Contains([]string{"PutItem", "UpdateItem", "DeleteItem", "Query"}, op)
		if !bookkeeping && !strings.HasPrefix(op, "Describe") && !strings.HasPrefix(op, "Get") && !strings.HasPrefix(op, "List") {
			out = append(out, op)
		}
	}
	slices.Sort(out)
	return out
}

// world renders what a containment and a release may change for the
// instances named, as JSON parts for comparison. Left out: Firebreak's own
// tags, snapshots, evidence objects and SNS messages (a release keeps
// them), and each group's desired capacity and replacement instance (the
// group launched one when the instance was detached; release never scales
// a group in): the group is rendered as the instance sees it.
type view struct {
	instances     []string
	groups        []string // Auto Scaling group names
	targetGroups  []string
	classicLBs    []string
	networkACLs   []string
	securityScope []string // VPCs whose security groups are compared
	roles         []string // IAM roles whose attached policies are compared
}

func (v view) render(t *testing.T, w *awsfake.World) map[string]string {
	t.Helper()
	parts := map[string]any{}
	for _, id := range v.instances {
		inst := w.Instance(id)
		inst.Tags = slices.DeleteFunc(inst.Tags, func(tg ec2types.Tag) bool { return strings.HasPrefix(aws.ToString(tg.Key), contract.TagPrefix) })
		parts["instance "+id] = inst
		parts["attributes "+id] = w.InstanceAttributes(id)
		for _, ni := range inst.NetworkInterfaces {
			parts["eni "+aws.ToString(ni.NetworkInterfaceId)] = w.NetworkInterface(aws.ToString(ni.NetworkInterfaceId))
		}
		for _, m := range inst.BlockDeviceMappings {
			parts["volume "+aws.ToString(m.Ebs.VolumeId)] = w.Volume(aws.ToString(m.Ebs.VolumeId))
		}
	}
	for _, name := range v.groups {
		g := w.AutoScalingGroup(name)
		var members []string
		for _, in := range g.Instances {
			if slices.Contains(v.instances, aws.ToString(in.InstanceId)) {
				members = append(members, aws.ToString(in.InstanceId)+" "+string(in.LifecycleState))
			}
		}
		parts["asg "+name] = map[string]any{"min": g.MinSize, "max": g.MaxSize, "lbs": g.LoadBalancerNames, "tgs": g.TargetGroupARNs, "members": members}
	}
	for _, arn := range v.targetGroups {
		var targets []string
		for _, th := range w.Targets(arn) {
			targets = append(targets, fmt.Sprintf("%s:%d %s", aws.ToString(th.Target.Id), aws.ToInt32(th.Target.Port), th.TargetHealth.State))
		}
		slices.Sort(targets)
		parts["tg "+arn] = targets
	}
	for _, name := range v.classicLBs {
		ids := w.ClassicLBInstances(name)
		slices.Sort(ids)
		parts["clb "+name] = ids
	}
	for _, id := range v.networkACLs {
		parts["acl "+id] = w.NetworkACL(id)
	}
	for _, r := range v.roles {
		parts["role "+r] = w.AttachedPolicies(r)
	}
	var sgs []ec2types.SecurityGroup
	out, err := w.Clients().EC2.DescribeSecurityGroups(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range out.SecurityGroups {
		if slices.Contains(v.securityScope, aws.ToString(g.VpcId)) {
			sgs = append(sgs, g)
		}
	}
	parts["security groups"] = sgs
	res := map[string]string{}
	for k, p := range parts {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		res[k] = string(b)
	}
	return res
}

// diff lists the parts that differ between two renderings.
func diff(before, after map[string]string) []string {
	var out []string
	for k, b := range before {
		if a, ok := after[k]; !ok || a != b {
			out = append(out, fmt.Sprintf("%s:\n  before %s\n  after  %s", k, b, a))
		}
	}
	for k, a := range after {
		if _, ok := before[k]; !ok {
			out = append(out, fmt.Sprintf("%s: only after: %s", k, a))
		}
	}
	slices.Sort(out)
	return out
}

func demoView(d awsfake.Demo) view {
	return view{instances: []string{d.Victim, d.Bystander}, groups: []string{d.ASG}, targetGroups: []string{d.TargetGroup, d.IPTargetGroup},
		classicLBs: []string{d.ClassicLB}, networkACLs: []string{d.NetworkACL}, securityScope: []string{d.VPC}, roles: []string{d.Role}}
}
