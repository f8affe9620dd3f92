package awssim_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
)

// TestDemoWorldOverTheWire reads the demo victim the way the runbook's
// capture step does and checks the nested answers the SDK decoded.
func TestDemoWorldOverTheWire(t *testing.T) {
	w, d := demoWorld()
	_, c := serve(t, w)
	ctx := context.Background()

	out, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{d.Victim}})
	if err != nil {
		t.Fatalf("describing the victim: %v", err)
	}
	if len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		t.Fatalf("got %d reservations, want one with one instance", len(out.Reservations))
	}
	inst := out.Reservations[0].Instances[0]
	var ips, enis []string
	for _, ni := range inst.NetworkInterfaces {
		enis = append(enis, aws.ToString(ni.NetworkInterfaceId))
		for _, ip := range ni.PrivateIpAddresses {
			ips = append(ips, aws.ToString(ip.PrivateIpAddress))
		}
		for _, ip := range ni.Ipv6Addresses {
			ips = append(ips, aws.ToString(ip.Ipv6Address))
		}
	}
	if !slices.Equal(enis, d.VictimENIs) {
		t.Errorf("interfaces = %v, want %v", enis, d.VictimENIs)
	}
	slices.Sort(ips)
	wantIPs := slices.Sorted(slices.Values(d.VictimIPs))
	if !slices.Equal(ips, wantIPs) {
		t.Errorf("addresses = %v, want %v", ips, wantIPs)
	}
	var eth0Groups []string
	for _, g := range inst.NetworkInterfaces[0].Groups {
		eth0Groups = append(eth0Groups, aws.ToString(g.GroupId))
	}
	if !slices.Equal(eth0Groups, []string{d.WebGroup, d.AppGroup}) {
		t.Errorf("eth0 groups = %v, want web and app", eth0Groups)
	}
	if got := tagValue(inst.Tags, "Name"); got != "web-1" {
		t.Errorf("Name tag = %q, want web-1", got)
	}
	if inst.LaunchTime == nil || !inst.LaunchTime.Equal(awsfake.Epoch) {
		t.Errorf("launch time = %v, want %v", inst.LaunchTime, awsfake.Epoch)
	}

	health, err := c.ELBV2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(d.IPTargetGroup)})
	if err != nil {
		t.Fatalf("describing target health: %v", err)
	}
	var targets []string
	for _, th := range health.TargetHealthDescriptions {
		targets = append(targets, fmt.Sprintf("%s:%d", aws.ToString(th.Target.Id), aws.ToInt32(th.Target.Port)))
	}
	wantTargets := []string{d.VictimPrimaryIP + ":8443", d.BystanderIP + ":443"}
	if !slices.Equal(targets, wantTargets) {
		t.Errorf("targets = %v, want %v", targets, wantTargets)
	}

	rules, err := c.EC2.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{Filters: []ec2types.Filter{
		{Name: aws.String("group-id"), Values: []string{d.AppGroup}}}})
	if err != nil {
		t.Fatalf("describing rules: %v", err)
	}
	var ingress []string
	for _, r := range rules.SecurityGroupRules {
		if aws.ToBool(r.IsEgress) {
			continue
		}
		src := aws.ToString(r.CidrIpv4)
		if r.ReferencedGroupInfo != nil {
			src = aws.ToString(r.ReferencedGroupInfo.GroupId)
		}
		ingress = append(ingress, fmt.Sprintf("%s %d-%d from %s", aws.ToString(r.IpProtocol), aws.ToInt32(r.FromPort), aws.ToInt32(r.ToPort), src))
	}
	slices.Sort(ingress)
	wantIngress := []string{"tcp 22-22 from 10.0.0.0/16", "tcp 8443-8443 from " + d.WebGroup}
	if !slices.Equal(ingress, wantIngress) {
		t.Errorf("app ingress = %v, want %v", ingress, wantIngress)
	}
}

func tagValue(tags []ec2types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// TestPaginationThroughSDKPaginators walks every page with the SDK's own
// paginators: the tokens and markers the fake hands out survive the wire.
func TestPaginationThroughSDKPaginators(t *testing.T) {
	w, d := demoWorld()
	for i := range 10 {
		w.AddInstance(awsfake.InstanceSpec{Subnet: d.SubnetA, Tags: map[string]string{"Name": fmt.Sprintf("extra-%d", i)}})
	}
	for i := range 3 {
		w.AddClassicLoadBalancer(fmt.Sprintf("extra-%d", i))
	}
	sim, c := serve(t, w)
	ctx := context.Background()

	tests := []struct {
		name      string
		op        string
		walk      func() (items, pages int, err error)
		wantItems int
		wantPages int
	}{
		{"instances, 5 a page", "ec2:DescribeInstances", func() (int, int, error) {
			p := ec2.NewDescribeInstancesPaginator(c.EC2, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
			items, pages := 0, 0
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					return 0, 0, err
				}
				pages++
				for _, r := range out.Reservations {
					items += len(r.Instances)
				}
			}
			return items, pages, nil
		}, 12, 3},
		{"classic load balancers, 2 a page", "elasticloadbalancing:DescribeLoadBalancers", func() (int, int, error) {
			p := elb.NewDescribeLoadBalancersPaginator(c.ELB, &elb.DescribeLoadBalancersInput{PageSize: aws.Int32(2)})
			items, pages := 0, 0
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					return 0, 0, err
				}
				pages++
				items += len(out.LoadBalancerDescriptions)
			}
			return items, pages, nil
		}, 4, 2},
		{"target groups, 1 a page", "elasticloadbalancingv2:DescribeTargetGroups", func() (int, int, error) {
			p := elbv2.NewDescribeTargetGroupsPaginator(c.ELBV2, &elbv2.DescribeTargetGroupsInput{PageSize: aws.Int32(1)})
			items, pages := 0, 0
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					return 0, 0, err
				}
				pages++
				items += len(out.TargetGroups)
			}
			return items, pages, nil
		}, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim.ResetStats()
			items, pages, err := tt.walk()
			if err != nil {
				t.Fatalf("paginating: %v", err)
			}
			if items != tt.wantItems || pages != tt.wantPages {
				t.Errorf("got %d items in %d pages, want %d in %d", items, pages, tt.wantItems, tt.wantPages)
			}
			if got := sim.Stats()[tt.op].Calls; got != tt.wantPages {
				t.Errorf("simulator served %d calls, want one per page (%d)", got, tt.wantPages)
			}
		})
	}
}
