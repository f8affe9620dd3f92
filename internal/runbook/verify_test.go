package runbook_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

// driftCase is one change made to a contained instance behind Firebreak's back.
type driftCase struct {
	name  string
	check string
	// redelivery is set when the re-delivery path's cheap checks find it
	// (the others, and everything once drift is found, the recorded checks).
	redelivery bool
	// also are checks that find the same change from their side.
	also  []string
	drift func(t *testing.T, e *env)
}

func isolationGroup(t *testing.T, e *env) string {
	iso, _ := firebreakGroups(t, e.w, e.d.VPC)
	return iso
}

func perm(proto string, port int32, v4, v6 string) ec2types.IpPermission {
	p := ec2types.IpPermission{IpProtocol: aws.String(proto)}
	if proto != "-1" {
		p.FromPort, p.ToPort = aws.Int32(port), aws.Int32(port)
	}
	if v4 != "" {
		p.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(v4)}}
	}
	if v6 != "" {
		p.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(v6)}}
	}
	return p
}

func must[T any](t *testing.T) func(T, error) {
	return func(_ T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

var driftCases = []driftCase{
	{name: "ingress rule v4 added to the isolation group", check: report.CheckIsolationGroup, redelivery: true, drift: func(t *testing.T, e *env) {
		must[*ec2.AuthorizeSecurityGroupIngressOutput](t)(e.api.EC2.AuthorizeSecurityGroupIngress(context.Background(), &ec2.AuthorizeSecurityGroupIngressInput{
			GroupId: aws.String(isolationGroup(t, e)), IpPermissions: []ec2types.IpPermission{perm("tcp", 22, "0.0.0.0/0", "")}}))
	}},
	{name: "ingress rule v6 added to the isolation group", check: report.CheckIsolationGroup, redelivery: true, drift: func(t *testing.T, e *env) {
		must[*ec2.AuthorizeSecurityGroupIngressOutput](t)(e.api.EC2.AuthorizeSecurityGroupIngress(context.Background(), &ec2.AuthorizeSecurityGroupIngressInput{
			GroupId: aws.String(isolationGroup(t, e)), IpPermissions: []ec2types.IpPermission{perm("tcp", 443, "", "::/0")}}))
	}},
	{name: "egress rule v4 added to the isolation group", check: report.CheckIsolationGroup, redelivery: true, drift: func(t *testing.T, e *env) {
		must[*ec2.AuthorizeSecurityGroupEgressOutput](t)(e.api.EC2.AuthorizeSecurityGroupEgress(context.Background(), &ec2.AuthorizeSecurityGroupEgressInput{
			GroupId: aws.String(isolationGroup(t, e)), IpPermissions: []ec2types.IpPermission{perm("-1", 0, "0.0.0.0/0", "")}}))
	}},
	{name: "egress rule v6 added to the isolation group", check: report.CheckIsolationGroup, redelivery: true, drift: func(t *testing.T, e *env) {
		must[*ec2.AuthorizeSecurityGroupEgressOutput](t)(e.api.EC2.AuthorizeSecurityGroupEgress(context.Background(), &ec2.AuthorizeSecurityGroupEgressInput{
			GroupId: aws.String(isolationGroup(t, e)), IpPermissions: []ec2types.IpPermission{perm("-1", 0, "", "::/0")}}))
	}},
	{name: "an interface given back its old group", check: report.CheckInterfaces, redelivery: true, drift: func(t *testing.T, e *env) {
		must[*ec2.ModifyNetworkInterfaceAttributeOutput](t)(e.api.EC2.ModifyNetworkInterfaceAttribute(context.Background(), &ec2.ModifyNetworkInterfaceAttributeInput{
			NetworkInterfaceId: aws.String(e.d.VictimENIs[1]), Groups: []string{e.d.AppGroup}}))
	}},
	{name: "termination protection turned off", check: report.CheckTermination, redelivery: true, drift: func(t *testing.T, e *env) {
		must[*ec2.ModifyInstanceAttributeOutput](t)(e.api.EC2.ModifyInstanceAttribute(context.Background(), &ec2.ModifyInstanceAttributeInput{
			InstanceId: aws.String(e.d.Victim), DisableApiTermination: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)}}))
	}},
	{name: "a network ACL entry deleted", check: report.CheckNetworkACL, drift: func(t *testing.T, e *env) {
		acl := e.w.NetworkACL(e.thirdACL)
		for _, en := range acl.Entries {
			if en.RuleAction == ec2types.RuleActionDeny && aws.ToString(en.CidrBlock) == e.d.VictimPrimaryIP+"/32" && aws.ToBool(en.Egress) {
				must[*ec2.DeleteNetworkAclEntryOutput](t)(e.api.EC2.DeleteNetworkAclEntry(context.Background(), &ec2.DeleteNetworkAclEntryInput{
					NetworkAclId: aws.String(e.thirdACL), RuleNumber: en.RuleNumber, Egress: en.Egress}))
				return
			}
		}
		t.Fatalf("no deny entry in %s to delete", e.thirdACL)
	}},
	{name: "the instance registered again with its target group", check: report.CheckLoadBalancers, drift: func(t *testing.T, e *env) {
		e.w.Advance(10 * 60e9) // past the deregistration delay
		e.w.RegisterTargets(e.d.TargetGroup, target(e.d.Victim, 0))
	}},
	{name: "the instance profile associated again", check: report.CheckCredentials, redelivery: true, drift: func(t *testing.T, e *env) {
		must[*ec2.AssociateIamInstanceProfileOutput](t)(e.api.EC2.AssociateIamInstanceProfile(context.Background(), &ec2.AssociateIamInstanceProfileInput{
			InstanceId: aws.String(e.d.Victim), IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Arn: aws.String(e.d.InstanceProfileARN)}}))
	}},
	{name: "the metadata endpoint turned on", check: report.CheckCredentials, drift: func(t *testing.T, e *env) {
		must[*ec2.ModifyInstanceMetadataOptionsOutput](t)(e.api.EC2.ModifyInstanceMetadataOptions(context.Background(), &ec2.ModifyInstanceMetadataOptionsInput{
			InstanceId: aws.String(e.d.Victim), HttpEndpoint: ec2types.InstanceMetadataEndpointStateEnabled}))
	}},
	{name: "the deny policy detached from the role", check: report.CheckCredentials, drift: func(t *testing.T, e *env) {
		for _, p := range e.w.AttachedPolicies(e.d.Role) {
			if strings.Contains(p, "/firebreak/") {
				must[*iam.DetachRolePolicyOutput](t)(e.api.IAM.DetachRolePolicy(context.Background(), &iam.DetachRolePolicyInput{
					RoleName: aws.String(e.d.Role), PolicyArn: aws.String(p)}))
			}
		}
	}},
	{name: "the instance attached to its Auto Scaling group again", check: report.CheckAutoScaling,
		// Attaching registers the instance with the group's target groups too.
		also: []string{report.CheckLoadBalancers}, drift: func(t *testing.T, e *env) {
			must[*autoscaling.AttachInstancesOutput](t)(e.api.AutoScaling.AttachInstances(context.Background(), &autoscaling.AttachInstancesInput{
				AutoScalingGroupName: aws.String(e.d.ASG), InstanceIds: []string{e.d.Victim}}))
		}},
}

// containedWithHardCut contains the victim with the hard cut on, in a VPC
// with a third subnet whose ACL gets the denies.
func containedWithHardCut(t *testing.T) *env {
	e := newEnv(t)
	e.opt.NACL = true
	_, e.thirdACL, _ = e.addThirdSubnet()
	wantSteps(t, e.contain(), nil)
	return e
}

func (e *env) sweepOne() runbook.Verification {
	e.t.Helper()
	rb := e.runbook()
	v, _, err := rb.Verify(context.Background(), runbook.VerifyTarget{InstanceID: e.d.Victim, AccountID: account, Region: region, Recorded: true}, rb.ReadIsolation(context.Background()))
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

func findCheck(v runbook.Verification, name string) report.Step {
	for _, s := range v.Checks {
		if s.Name == name {
			return s
		}
	}
	return report.Step{}
}

// Each drift is found, named and repaired; verifying again finds nothing and
// changes nothing.
func TestVerifyFindsAndRepairsDrift(t *testing.T) {
	for _, path := range []string{"re-delivery", "sweep"} {
		for _, tc := range driftCases {
			t.Run(path+"/"+tc.name, func(t *testing.T) {
				e := containedWithHardCut(t)
				tc.drift(t, e)
				e.w.ResetCalls()

				var v runbook.Verification
				if path == "sweep" {
					v = e.sweepOne()
				} else {
					tg := e.target(e.d.Victim)
					// Repairing contains nothing new: the blast-radius guard is never asked.
					tg.Gate = func(context.Context) error { t.Error("the guard was asked"); return errors.New("held") }
					out := e.runbook().Run(context.Background(), tg)
					if !out.AlreadyContained || out.Verification == nil {
						t.Fatalf("re-delivery: already contained %v, verification %v", out.AlreadyContained, out.Verification)
					}
					if got := e.w.Calls(); got["CreateSnapshots"] > 0 || got["PutObject"] > 0 {
						t.Errorf("re-delivery contained again: calls %v", got)
					}
					v = *out.Verification
				}
				if path == "re-delivery" && !tc.redelivery {
					// Found by the sweep alone: the re-delivery skips what needs the record.
					if s := findCheck(v, tc.check); s.Status != report.Skipped || v.Drifted() {
						t.Fatalf("re-delivery check %s: %+v, drift %v; want skipped, no drift", tc.check, s, v.Drift)
					}
					return
				}
				s := findCheck(v, tc.check)
				if s.Status != report.Done || len(s.Drift) == 0 || !strings.Contains(s.Detail, "drift found and repaired") {
					t.Fatalf("check %s: %+v; want drift found and repaired", tc.check, s)
				}
				for _, other := range v.Checks {
					if other.Name != tc.check && !slices.Contains(tc.also, other.Name) && (len(other.Drift) > 0 || other.Status == report.Failed) {
						t.Errorf("check %s also reports %+v", other.Name, other)
					}
				}
				if c := findCheck(v, report.CheckCredentials); tc.check != report.CheckCredentials && (c.Status != report.Done || len(c.Drift) > 0) {
					t.Errorf("credentials check %+v, want done without drift: the credentials did not drift", c)
				}

				e.w.ResetCalls()
				again := e.sweepOne()
				if again.Drifted() || again.Failed {
					t.Fatalf("after the repair: drift %v, checks %+v", again.Drift, again.Checks)
				}
				if w := mutatingOps(e.w.Calls()); len(w) > 0 {
					t.Errorf("verifying a repaired instance wrote %v", w)
				}
				if got := groupsOf(e.w, e.d.VictimENIs[1]); !slices.Equal(got, []string{isolationGroup(t, e)}) {
					t.Errorf("eth1 in %v after the repair", got)
				}
			})
		}
	}
}

// Nothing drifted: a re-delivery costs three reads in one round trip and writes nothing.
func TestRedeliveryWithoutDriftReadsThreeAndWritesNothing(t *testing.T) {
	e := containedWithHardCut(t)
	rb := e.runbook()
	rb.Run(context.Background(), e.target(e.d.Victim)) // warm, as a warm environment is
	e.w.ResetCalls()
	out := rb.Run(context.Background(), e.target(e.d.Victim))
	if !out.AlreadyContained || out.Verification.Drifted() || out.Verification.Failed {
		t.Fatalf("already contained %v, verification %+v", out.AlreadyContained, out.Verification)
	}
	want := map[string]int{"DescribeInstances": 1, "DescribeSecurityGroups": 1, "DescribeInstanceAttribute": 1}
	if got := e.w.Calls(); !mapsEqual(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A released instance is never verified nor repaired.
func TestVerifyLeavesAReleasedInstanceAlone(t *testing.T) {
	e := containedWithHardCut(t)
	tagInstance(t, e, e.d.Victim, contract.TagStatus, contract.StatusReleased)
	must[*ec2.ModifyNetworkInterfaceAttributeOutput](t)(e.api.EC2.ModifyNetworkInterfaceAttribute(context.Background(), &ec2.ModifyNetworkInterfaceAttributeInput{
		NetworkInterfaceId: aws.String(e.d.VictimENIs[1]), Groups: []string{e.d.AppGroup}}))
	e.w.ResetCalls()
	rb := e.runbook()
	_, _, err := rb.Verify(context.Background(), runbook.VerifyTarget{InstanceID: e.d.Victim, AccountID: account, Region: region, Recorded: true}, rb.ReadIsolation(context.Background()))
	if err == nil || !strings.Contains(err.Error(), "not contained") {
		t.Fatalf("verify of a released instance: %v, want refused", err)
	}
	if w := mutatingOps(e.w.Calls()); len(w) > 0 {
		t.Errorf("verify of a released instance wrote %v", w)
	}
	if got := groupsOf(e.w, e.d.VictimENIs[1]); !slices.Equal(got, []string{e.d.AppGroup}) {
		t.Errorf("released eth1 moved to %v", got)
	}
}

// An instance tagged exempt since its containment is never repaired.
func TestVerifyLeavesAnExemptInstanceAlone(t *testing.T) {
	e := containedWithHardCut(t)
	tagInstance(t, e, e.d.Victim, contract.TagExempt, "true")
	must[*ec2.ModifyNetworkInterfaceAttributeOutput](t)(e.api.EC2.ModifyNetworkInterfaceAttribute(context.Background(), &ec2.ModifyNetworkInterfaceAttributeInput{
		NetworkInterfaceId: aws.String(e.d.VictimENIs[1]), Groups: []string{e.d.AppGroup}}))
	e.w.ResetCalls()
	rb := e.runbook()
	if _, _, err := rb.Verify(context.Background(), runbook.VerifyTarget{InstanceID: e.d.Victim, AccountID: account, Region: region, Recorded: true},
		rb.ReadIsolation(context.Background())); err == nil || !strings.Contains(err.Error(), contract.TagExempt) {
		t.Fatalf("verify of an exempt instance: %v, want refused", err)
	}
	if out := e.contain(); !out.Exempt {
		t.Errorf("an event for the exempt instance: %+v, want exempt", out.Steps[0])
	}
	if w := mutatingOps(e.w.Calls()); len(w) > 0 {
		t.Errorf("an exempt instance was changed: %v", w)
	}
}

// A sweep's instances that share a role read it once per invocation; a
// detached deny is found for each of them and written back.
func TestSweepReadsASharedRoleOnce(t *testing.T) {
	e := newEnv(t)
	wantSteps(t, e.contain(), nil)
	second := e.runbook().Run(context.Background(), e.target(e.d.Bystander))
	if s := stepOf(t, second, report.StepCredentials); s.Status != report.Done {
		t.Fatalf("second containment's credentials: %+v", s)
	}
	for _, p := range e.w.AttachedPolicies(e.d.Role) {
		if strings.Contains(p, "/firebreak/") {
			must[*iam.DetachRolePolicyOutput](t)(e.api.IAM.DetachRolePolicy(context.Background(), &iam.DetachRolePolicyInput{
				RoleName: aws.String(e.d.Role), PolicyArn: aws.String(p)}))
		}
	}
	e.w.ResetCalls()
	rb := e.runbook()
	iso := rb.ReadIsolation(context.Background())
	for _, id := range []string{e.d.Victim, e.d.Bystander} {
		v, _, err := rb.Verify(context.Background(), runbook.VerifyTarget{InstanceID: id, AccountID: account, Region: region, Recorded: true}, iso)
		if err != nil {
			t.Fatal(err)
		}
		if c := findCheck(v, report.CheckCredentials); len(c.Drift) == 0 || c.Status != report.Done {
			t.Errorf("%s: credentials check %+v, want drift found and repaired", id, c)
		}
	}
	if n := e.w.Calls()["GetInstanceProfile"]; n != 1 {
		t.Errorf("GetInstanceProfile called %d times for two instances of one role, want 1", n)
	}
	for _, id := range []string{e.d.Victim, e.d.Bystander} {
		p := awsfake.Principal{Account: account, Role: e.d.Role, Session: id, SourceInstanceARN: "arn:aws:ec2:" + region + ":" + account + ":instance/" + id}
		if e.w.Authorize(p, "s3:GetObject") == nil {
			t.Errorf("%s's sessions not denied after the repair", id)
		}
	}
}
