package awsfake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func TestSeedDemoMatchesTheSpecification(t *testing.T) {
	w, d, _ := demo(t)
	v := w.Instance(d.Victim)
	if len(d.VictimENIs) != 2 || len(d.VictimIPs) != 4 || len(d.VictimVolumes) != 2 {
		t.Fatalf("victim: %d ENIs, %d addresses, %d volumes; want 2, 4 (3 IPv4 + 1 IPv6), 2", len(d.VictimENIs), len(d.VictimIPs), len(d.VictimVolumes))
	}
	if *v.NetworkInterfaces[0].SubnetId == *v.NetworkInterfaces[1].SubnetId {
		t.Error("the victim's interfaces share a subnet")
	}
	if g := w.AutoScalingGroup(d.ASG); *g.MinSize != 1 || *g.DesiredCapacity != 1 || *g.MaxSize != 3 || *g.Instances[0].InstanceId != d.Victim {
		t.Errorf("ASG = %+v", g)
	}
	if lb := w.ClassicLBInstances(d.ClassicLB); !slices.Equal(lb, []string{d.Victim, d.Bystander}) {
		t.Errorf("classic LB = %v", lb)
	}
	ip := w.Targets(d.IPTargetGroup)
	if len(ip) != 2 || *ip[0].Target.Id != d.VictimPrimaryIP || *ip[0].Target.Port != 8443 || *ip[1].Target.Port != 443 {
		t.Errorf("ip target group = %+v", ip)
	}
	if d.Topic != "arn:aws:sns:us-east-1:123456789012:firebreak-reports" || d.Bucket != "firebreak-evidence-123456789012" {
		t.Errorf("topic %s, bucket %s", d.Topic, d.Bucket)
	}
}

// TestSeedDemoGolden pins what the demo world looks like through the APIs, so
// a change to the model shows up as a reviewable diff (go test -update).
func TestSeedDemoGolden(t *testing.T) {
	_, d, c := demo(t)
	ctx := context.Background()
	vpc := []types.Filter{{Name: aws.String("vpc-id"), Values: []string{d.VPC}}}
	instances, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	must(t, err)
	groups, err := c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: vpc})
	must(t, err)
	acls, err := c.EC2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: vpc})
	must(t, err)
	volumes, err := c.EC2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{})
	must(t, err)
	lbs, err := c.ELB.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{})
	must(t, err)
	tgs, err := c.ELBV2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{})
	must(t, err)
	health := map[string]any{}
	for _, tg := range tgs.TargetGroups {
		h, err := c.ELBV2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})
		must(t, err)
		health[*tg.TargetGroupName] = h.TargetHealthDescriptions
	}
	got, err := json.MarshalIndent(map[string]any{
		"demo":           d,
		"reservations":   instances.Reservations,
		"securityGroups": groups.SecurityGroups,
		"networkAcls":    acls.NetworkAcls,
		"volumes":        volumes.Volumes,
		"loadBalancers":  lbs.LoadBalancerDescriptions,
		"targetGroups":   tgs.TargetGroups,
		"targetHealth":   health,
	}, "", "  ")
	must(t, err)
	golden := filepath.Join("testdata", "demo.golden.json")
	if *update {
		must(t, os.WriteFile(golden, append(got, '\n'), 0o644))
	}
	want, err := os.ReadFile(golden)
	must(t, err)
	if !bytes.Equal(append(got, '\n'), want) {
		t.Fatalf("demo world differs from %s; run go test -update and review the diff", golden)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
