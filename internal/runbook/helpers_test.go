package runbook_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

const (
	account   = "123456789012"
	region    = "us-east-1"
	victimID  = "i-0abc123def4567890"
	findingID = "4ec5d6e7f8a9b0c1d2e3f4a5b6c7d8e9"
	caseID    = "case-" + findingID
)

// env is one demo world and the options a test runs the runbook with.
type env struct {
	t   *testing.T
	w   *awsfake.World
	d   awsfake.Demo
	api awsapi.Clients
	opt runbook.Options
	// thirdSubnet is set by tests that add one (addThirdSubnet).
	thirdSubnet string
	// thirdACL is the network ACL of the third subnet, once added.
	thirdACL string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	w := awsfake.New(account, region)
	d := w.SeedDemo(victimID)
	return &env{t: t, w: w, d: d, api: w.Clients(), opt: runbook.Options{EvidenceBucket: d.Bucket, Now: w.Now, RoleLockTable: d.GuardTable,
		SnapshotBackoff: time.Millisecond, RetryBase: time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}
}

func (e *env) runbook() *runbook.Runbook { return runbook.New(e.api, e.opt) }

func (e *env) target(instanceID string) runbook.Target {
	return runbook.Target{InstanceID: instanceID, AccountID: account, Region: region, CaseID: caseID,
		FindingID: findingID, FindingType: "Backdoor:EC2/C&CActivity.B!DNS", Reason: "Backdoor:EC2/C&CActivity.B!DNS, severity 8",
		Event: []byte(`{"id":"` + findingID + `"}`)}
}

// contain runs a fresh runbook on the demo victim.
func (e *env) contain() runbook.Outcome {
	e.t.Helper()
	return e.runbook().Run(context.Background(), e.target(e.d.Victim))
}

// addThirdSubnet adds a subnet with its own network ACL and a bystander in it:
// the only place a hard cut for the victim can bite.
func (e *env) addThirdSubnet() (subnet, acl, bystander string) {
	subnet = e.w.AddSubnet(e.d.VPC, "10.0.3.0/24", "")
	acl = e.w.AddNetworkACL(e.d.VPC, subnet)
	bystander = e.w.AddInstance(awsfake.InstanceSpec{Subnet: subnet, Groups: []string{e.d.AppGroup}})
	return subnet, acl, bystander
}

func stepOf(t *testing.T, out runbook.Outcome, name string) report.Step {
	t.Helper()
	for _, s := range out.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no step %q in %+v", name, out.Steps)
	return report.Step{}
}

// wantSteps checks every step's status: the listed ones as given, the rest done.
func wantSteps(t *testing.T, out runbook.Outcome, want map[string]report.Status) {
	t.Helper()
	var names []string
	for _, s := range out.Steps {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, report.StepNames) {
		t.Fatalf("steps %v, want %v", names, report.StepNames)
	}
	for _, s := range out.Steps {
		status, ok := want[s.Name]
		switch {
		case !ok && s.Name == report.StepCredentials && out.Credentials == nil:
			status = report.NotApplicable // an instance without a profile
		case !ok:
			status = report.Done
		}
		if s.Status != status {
			t.Errorf("step %s: %s (%s: %s; %s), want %s", s.Name, s.Status, s.Error, s.Message, s.Detail, status)
		}
	}
}

func apiErr(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: "injected by the test", Fault: smithy.FaultClient}
}

// mutatingOps lists the operations in calls that are not Describe* or Get*.
func mutatingOps(calls map[string]int) []string {
	var out []string
	for op := range calls {
		if !strings.HasPrefix(op, "Describe") && !strings.HasPrefix(op, "Get") && !strings.HasPrefix(op, "List") {
			out = append(out, op)
		}
	}
	slices.Sort(out)
	return out
}

// groupsOf is an interface's security groups in the world.
func groupsOf(w *awsfake.World, eniID string) []string {
	var out []string
	for _, g := range w.NetworkInterface(eniID).Groups {
		out = append(out, aws.ToString(g.GroupId))
	}
	return out
}

// firebreakGroups finds Firebreak's two groups in a VPC by their role tag.
func firebreakGroups(t *testing.T, w *awsfake.World, vpc string) (isolation, allTraffic string) {
	t.Helper()
	out, err := w.Clients().EC2.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("tag:" + contract.TagManaged), Values: []string{"true"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range out.SecurityGroups {
		for _, tag := range g.Tags {
			if aws.ToString(tag.Key) != contract.TagRole {
				continue
			}
			switch aws.ToString(tag.Value) {
			case contract.RoleIsolation:
				if isolation != "" {
					t.Errorf("two isolation groups in %s: %s and %s", vpc, isolation, aws.ToString(g.GroupId))
				}
				isolation = aws.ToString(g.GroupId)
			case contract.RoleAllTraffic:
				if allTraffic != "" {
					t.Errorf("two all-traffic groups in %s: %s and %s", vpc, allTraffic, aws.ToString(g.GroupId))
				}
				allTraffic = aws.ToString(g.GroupId)
			}
		}
	}
	return isolation, allTraffic
}

// groupByName finds a group by name in a VPC ("" when there is none).
func groupByName(t *testing.T, w *awsfake.World, vpc, name string) string {
	t.Helper()
	out, err := w.Clients().EC2.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("group-name"), Values: []string{name}}}})
	if err != nil {
		t.Fatal(err)
	}
	switch len(out.SecurityGroups) {
	case 0:
		return ""
	case 1:
		return aws.ToString(out.SecurityGroups[0].GroupId)
	}
	t.Fatalf("%d groups named %s in %s", len(out.SecurityGroups), name, vpc)
	return ""
}

// ruleSet renders a group's rules as "in|egress proto peer" strings, sorted.
func ruleSet(w *awsfake.World, group string) []string {
	var out []string
	for _, r := range w.SecurityGroupRules(group) {
		dir := "in"
		if aws.ToBool(r.IsEgress) {
			dir = "out"
		}
		peer := aws.ToString(r.CidrIpv4) + aws.ToString(r.CidrIpv6) + aws.ToString(r.PrefixListId)
		if r.ReferencedGroupInfo != nil {
			peer = aws.ToString(r.ReferencedGroupInfo.GroupId)
		}
		out = append(out, dir+" "+aws.ToString(r.IpProtocol)+" "+peer)
	}
	slices.Sort(out)
	return out
}

var allTrafficRules = []string{"in -1 0.0.0.0/0", "in -1 ::/0", "out -1 0.0.0.0/0", "out -1 ::/0"}

// tagsOf is an instance's tags as a map.
func tagsOf(w *awsfake.World, id string) map[string]string {
	out := map[string]string{}
	for _, t := range w.Instance(id).Tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

// state renders everything the runbook could change, read through the fake's
// APIs and accessors, so two states compare as JSON.
func state(t *testing.T, w *awsfake.World) string {
	t.Helper()
	ctx := context.Background()
	c := w.Clients()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	instances, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	must(err)
	attrs := map[string]awsfake.InstanceAttributes{}
	var enis []ec2types.NetworkInterface
	var asgs []string
	for _, r := range instances.Reservations {
		for _, in := range r.Instances {
			attrs[aws.ToString(in.InstanceId)] = w.InstanceAttributes(aws.ToString(in.InstanceId))
			for _, ni := range in.NetworkInterfaces {
				enis = append(enis, w.NetworkInterface(aws.ToString(ni.NetworkInterfaceId)))
			}
			for _, tag := range in.Tags {
				if aws.ToString(tag.Key) == awsfake.GroupTagKey && !slices.Contains(asgs, aws.ToString(tag.Value)) {
					asgs = append(asgs, aws.ToString(tag.Value))
				}
			}
		}
	}
	groups, err := c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	must(err)
	acls, err := c.EC2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{})
	must(err)
	volumes, err := c.EC2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{})
	must(err)
	lbs, err := c.ELB.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	must(err)
	tgs, err := c.ELBV2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{})
	must(err)
	health := map[string]any{}
	for _, tg := range tgs.TargetGroups {
		health[aws.ToString(tg.TargetGroupArn)] = w.Targets(aws.ToString(tg.TargetGroupArn))
	}
	members, err := c.AutoScaling.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{})
	must(err)
	var groupsByName []any
	for _, name := range asgs {
		groupsByName = append(groupsByName, w.AutoScalingGroup(name))
	}
	b, err := json.MarshalIndent(map[string]any{
		"instances": instances.Reservations, "attributes": attrs, "interfaces": enis,
		"securityGroups": groups.SecurityGroups, "networkAcls": acls.NetworkAcls, "volumes": volumes.Volumes,
		"snapshots": w.Snapshots(), "loadBalancers": lbs.LoadBalancerDescriptions, "targets": health,
		"autoScaling": members.AutoScalingInstances, "autoScalingGroups": groupsByName,
		"objects": w.Objects(), "published": w.Published(),
	}, "", " ")
	must(err)
	return string(b)
}

// opLog records the order of operations as the world sees them.
type opLog struct {
	mu  sync.Mutex
	ops []string
}

func watch(w *awsfake.World) *opLog {
	l := &opLog{}
	w.OnCall(func(op string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.ops = append(l.ops, op)
	})
	return l
}

func (l *opLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ops)
}

// ec2Call is one mutating EC2 request as the runbook sent it.
type ec2Call struct {
	op string
	in any
}

// recordingEC2 passes every call to the world and keeps the inputs of the
// mutating ones, which the world's call counts do not show.
type recordingEC2 struct {
	awsapi.EC2
	// before, when set, sees each mutating call before it is passed on; a
	// non-nil error is returned instead of calling the world.
	before func(op string, in any) error
	mu     sync.Mutex
	calls  []ec2Call
}

func record[I, O any](r *recordingEC2, op string, in *I, next func() (*O, error)) (*O, error) {
	r.mu.Lock()
	r.calls = append(r.calls, ec2Call{op: op, in: in})
	r.mu.Unlock()
	if r.before != nil {
		if err := r.before(op, in); err != nil {
			return nil, err
		}
	}
	return next()
}

func (r *recordingEC2) recorded() []ec2Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func (r *recordingEC2) ModifyNetworkInterfaceAttribute(ctx context.Context, in *ec2.ModifyNetworkInterfaceAttributeInput, o ...func(*ec2.Options)) (*ec2.ModifyNetworkInterfaceAttributeOutput, error) {
	return record(r, "ModifyNetworkInterfaceAttribute", in, func() (*ec2.ModifyNetworkInterfaceAttributeOutput, error) {
		return r.EC2.ModifyNetworkInterfaceAttribute(ctx, in, o...)
	})
}

func (r *recordingEC2) ModifyInstanceAttribute(ctx context.Context, in *ec2.ModifyInstanceAttributeInput, o ...func(*ec2.Options)) (*ec2.ModifyInstanceAttributeOutput, error) {
	return record(r, "ModifyInstanceAttribute", in, func() (*ec2.ModifyInstanceAttributeOutput, error) {
		return r.EC2.ModifyInstanceAttribute(ctx, in, o...)
	})
}

func (r *recordingEC2) CreateSecurityGroup(ctx context.Context, in *ec2.CreateSecurityGroupInput, o ...func(*ec2.Options)) (*ec2.CreateSecurityGroupOutput, error) {
	return record(r, "CreateSecurityGroup", in, func() (*ec2.CreateSecurityGroupOutput, error) { return r.EC2.CreateSecurityGroup(ctx, in, o...) })
}

func (r *recordingEC2) AuthorizeSecurityGroupIngress(ctx context.Context, in *ec2.AuthorizeSecurityGroupIngressInput, o ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
	return record(r, "AuthorizeSecurityGroupIngress", in, func() (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
		return r.EC2.AuthorizeSecurityGroupIngress(ctx, in, o...)
	})
}

func (r *recordingEC2) AuthorizeSecurityGroupEgress(ctx context.Context, in *ec2.AuthorizeSecurityGroupEgressInput, o ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupEgressOutput, error) {
	return record(r, "AuthorizeSecurityGroupEgress", in, func() (*ec2.AuthorizeSecurityGroupEgressOutput, error) {
		return r.EC2.AuthorizeSecurityGroupEgress(ctx, in, o...)
	})
}

func (r *recordingEC2) RevokeSecurityGroupIngress(ctx context.Context, in *ec2.RevokeSecurityGroupIngressInput, o ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error) {
	return record(r, "RevokeSecurityGroupIngress", in, func() (*ec2.RevokeSecurityGroupIngressOutput, error) {
		return r.EC2.RevokeSecurityGroupIngress(ctx, in, o...)
	})
}

func (r *recordingEC2) RevokeSecurityGroupEgress(ctx context.Context, in *ec2.RevokeSecurityGroupEgressInput, o ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupEgressOutput, error) {
	return record(r, "RevokeSecurityGroupEgress", in, func() (*ec2.RevokeSecurityGroupEgressOutput, error) {
		return r.EC2.RevokeSecurityGroupEgress(ctx, in, o...)
	})
}

func (r *recordingEC2) CreateNetworkAclEntry(ctx context.Context, in *ec2.CreateNetworkAclEntryInput, o ...func(*ec2.Options)) (*ec2.CreateNetworkAclEntryOutput, error) {
	return record(r, "CreateNetworkAclEntry", in, func() (*ec2.CreateNetworkAclEntryOutput, error) { return r.EC2.CreateNetworkAclEntry(ctx, in, o...) })
}

func (r *recordingEC2) CreateSnapshots(ctx context.Context, in *ec2.CreateSnapshotsInput, o ...func(*ec2.Options)) (*ec2.CreateSnapshotsOutput, error) {
	return record(r, "CreateSnapshots", in, func() (*ec2.CreateSnapshotsOutput, error) { return r.EC2.CreateSnapshots(ctx, in, o...) })
}

func (r *recordingEC2) CreateTags(ctx context.Context, in *ec2.CreateTagsInput, o ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	return record(r, "CreateTags", in, func() (*ec2.CreateTagsOutput, error) { return r.EC2.CreateTags(ctx, in, o...) })
}

// record wraps e's EC2 client so the test can read the mutating inputs.
func (e *env) record() *recordingEC2 {
	r := &recordingEC2{EC2: e.api.EC2}
	e.api.EC2 = r
	return r
}

// swaps lists, per interface, the group sets it was moved to, in order.
func (r *recordingEC2) swaps() map[string][][]string {
	out := map[string][][]string{}
	for _, c := range r.recorded() {
		if in, ok := c.in.(*ec2.ModifyNetworkInterfaceAttributeInput); ok && len(in.Groups) > 0 && !aws.ToBool(in.DryRun) {
			id := aws.ToString(in.NetworkInterfaceId)
			out[id] = append(out[id], in.Groups)
		}
	}
	return out
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (r *recordingEC2) ModifyInstanceMetadataOptions(ctx context.Context, in *ec2.ModifyInstanceMetadataOptionsInput, o ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataOptionsOutput, error) {
	return record(r, "ModifyInstanceMetadataOptions", in, func() (*ec2.ModifyInstanceMetadataOptionsOutput, error) {
		return r.EC2.ModifyInstanceMetadataOptions(ctx, in, o...)
	})
}

func (r *recordingEC2) DisassociateIamInstanceProfile(ctx context.Context, in *ec2.DisassociateIamInstanceProfileInput, o ...func(*ec2.Options)) (*ec2.DisassociateIamInstanceProfileOutput, error) {
	return record(r, "DisassociateIamInstanceProfile", in, func() (*ec2.DisassociateIamInstanceProfileOutput, error) {
		return r.EC2.DisassociateIamInstanceProfile(ctx, in, o...)
	})
}

// checkOf is the named check of a verification.
func checkOf(t *testing.T, out runbook.Outcome, name string) report.Step {
	t.Helper()
	if out.Verification == nil {
		t.Fatalf("no verification in the outcome (steps %+v)", out.Steps)
	}
	for _, s := range out.Verification.Checks {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no check %s in %+v", name, out.Verification.Checks)
	return report.Step{}
}
