package awssim_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

// TestVerifyRepairsDriftOverTheWire contains the demo victim through real SDK
// clients and the simulator, changes the containment behind Firebreak's back,
// and verifies over the wire: each drift is found, named and repaired by the
// re-publication (the cheap checks' drift) and by the sweep, and a second
// verification finds nothing.
func TestVerifyRepairsDriftOverTheWire(t *testing.T) {
	isolation := func(t *testing.T, w *awsfake.World, vpc string) string {
		out, err := w.Clients().EC2.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
			{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("group-name"), Values: []string{contract.IsolationGroupName}}}})
		if err != nil || len(out.SecurityGroups) != 1 {
			t.Fatalf("isolation group: %v", err)
		}
		return aws.ToString(out.SecurityGroups[0].GroupId)
	}
	rule := func(proto, v4, v6 string) ec2types.IpPermission {
		p := ec2types.IpPermission{IpProtocol: aws.String(proto)}
		if proto == "tcp" {
			p.FromPort, p.ToPort = aws.Int32(22), aws.Int32(22)
		}
		if v4 != "" {
			p.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(v4)}}
		}
		if v6 != "" {
			p.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(v6)}}
		}
		return p
	}
	for _, tc := range []struct {
		name, check string
		// redelivery: the re-publication's cheap checks find it too.
		redelivery bool
		drift      func(t *testing.T, w *awsfake.World, d awsfake.Demo) error
	}{
		{"ingress v4", report.CheckIsolationGroup, true, func(t *testing.T, w *awsfake.World, d awsfake.Demo) error {
			_, err := w.Clients().EC2.AuthorizeSecurityGroupIngress(context.Background(), &ec2.AuthorizeSecurityGroupIngressInput{
				GroupId: aws.String(isolation(t, w, d.VPC)), IpPermissions: []ec2types.IpPermission{rule("tcp", "0.0.0.0/0", "")}})
			return err
		}},
		{"ingress v6", report.CheckIsolationGroup, true, func(t *testing.T, w *awsfake.World, d awsfake.Demo) error {
			_, err := w.Clients().EC2.AuthorizeSecurityGroupIngress(context.Background(), &ec2.AuthorizeSecurityGroupIngressInput{
				GroupId: aws.String(isolation(t, w, d.VPC)), IpPermissions: []ec2types.IpPermission{rule("tcp", "", "::/0")}})
			return err
		}},
		{"egress v4", report.CheckIsolationGroup, true, func(t *testing.T, w *awsfake.World, d awsfake.Demo) error {
			_, err := w.Clients().EC2.AuthorizeSecurityGroupEgress(context.Background(), &ec2.AuthorizeSecurityGroupEgressInput{
				GroupId: aws.String(isolation(t, w, d.VPC)), IpPermissions: []ec2types.IpPermission{rule("-1", "0.0.0.0/0", "")}})
			return err
		}},
		{"egress v6", report.CheckIsolationGroup, true, func(t *testing.T, w *awsfake.World, d awsfake.Demo) error {
			_, err := w.Clients().EC2.AuthorizeSecurityGroupEgress(context.Background(), &ec2.AuthorizeSecurityGroupEgressInput{
				GroupId: aws.String(isolation(t, w, d.VPC)), IpPermissions: []ec2types.IpPermission{rule("-1", "", "::/0")}})
			return err
		}},
		{"interface given back its group", report.CheckInterfaces, true, func(t *testing.T, w *awsfake.World, d awsfake.Demo) error {
			_, err := w.Clients().EC2.ModifyNetworkInterfaceAttribute(context.Background(), &ec2.ModifyNetworkInterfaceAttributeInput{
				NetworkInterfaceId: aws.String(d.VictimENIs[0]), Groups: []string{d.WebGroup}})
			return err
		}},
		{"termination protection off", report.CheckTermination, true, func(t *testing.T, w *awsfake.World, d awsfake.Demo) error {
			_, err := w.Clients().EC2.ModifyInstanceAttribute(context.Background(), &ec2.ModifyInstanceAttributeInput{
				InstanceId: aws.String(d.Victim), DisableApiTermination: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)}})
			return err
		}},
		{"ACL entry deleted", report.CheckNetworkACL, false, func(t *testing.T, w *awsfake.World, d awsfake.Demo) error {
			for _, en := range w.NetworkACL(d.NetworkACL).Entries {
				if aws.ToString(en.CidrBlock) == d.VictimPrimaryIP+"/32" && !aws.ToBool(en.Egress) {
					_, err := w.Clients().EC2.DeleteNetworkAclEntry(context.Background(), &ec2.DeleteNetworkAclEntryInput{
						NetworkAclId: aws.String(d.NetworkACL), RuleNumber: en.RuleNumber, Egress: en.Egress})
					return err
				}
			}
			t.Fatal("no deny entry to delete")
			return nil
		}},
		{"registered again with the target group", report.CheckLoadBalancers, false, func(t *testing.T, w *awsfake.World, d awsfake.Demo) error {
			w.Advance(10 * time.Minute)
			w.RegisterTargets(d.TargetGroup, elbv2types.TargetDescription{Id: aws.String(d.Victim)})
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, d := demoWorld()
			_, wire := serve(t, w)
			rb := func() *runbook.Runbook {
				return runbook.New(wire.Clients, runbook.Options{EvidenceBucket: d.Bucket, NACL: true, Now: w.Now,
					SnapshotBackoff: time.Millisecond, RetryBase: time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			}
			ctx := context.Background()
			first := rb().Run(ctx, runbook.Target{InstanceID: d.Victim, AccountID: account, Region: "us-east-1", CaseID: "case-1", FindingID: "f-1", Reason: "test"})
			if len(first.NACLEntries) == 0 || first.IsolationFailed {
				t.Fatalf("containment: %+v", first.Steps)
			}
			if err := tc.drift(t, w, d); err != nil {
				t.Fatal(err)
			}
			verify := func() runbook.Verification {
				r := rb()
				v, _, err := r.Verify(ctx, runbook.VerifyTarget{InstanceID: d.Victim, AccountID: account, Region: "us-east-1", Recorded: true}, r.ReadIsolation(ctx))
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			if tc.redelivery {
				// The re-publication of the finding, over the wire too,
				// before the sweep: it finds and repairs it itself.
				out := rb().Run(ctx, runbook.Target{InstanceID: d.Victim, AccountID: account, Region: "us-east-1", CaseID: "case-1", FindingID: "f-1", Reason: "test"})
				if out.Verification == nil || !out.Verification.Drifted() || out.Verification.Failed {
					t.Fatalf("re-publication over the wire: %+v", out.Verification)
				}
				if err := tc.drift(t, w, d); err != nil {
					t.Fatal(err)
				}
			}
			v := verify()
			var found report.Step
			for _, s := range v.Checks {
				if s.Name == tc.check {
					found = s
				}
			}
			if found.Status != report.Done || len(found.Drift) == 0 || !strings.Contains(found.Detail, "drift found and repaired") {
				t.Fatalf("check %s over the wire: %+v (all: %+v)", tc.check, found, v.Checks)
			}
			if again := verify(); again.Drifted() || again.Failed {
				t.Errorf("after the repair: drift %v, checks %+v", again.Drift, again.Checks)
			}
		})
	}
}
