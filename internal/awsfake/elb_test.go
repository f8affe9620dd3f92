package awsfake_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
)

func TestDescribeLoadBalancersPaginator(t *testing.T) {
	w, d, c := demo(t)
	for i := range 4 {
		w.AddClassicLoadBalancer(fmt.Sprintf("other-%d", i))
	}
	p := elb.NewDescribeLoadBalancersPaginator(c.ELB, &elb.DescribeLoadBalancersInput{PageSize: aws.Int32(2)})
	var names []string
	var victimLBs []string
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, lb := range out.LoadBalancerDescriptions {
			names = append(names, *lb.LoadBalancerName)
			if slices.ContainsFunc(lb.Instances, func(i elbtypes.Instance) bool { return *i.InstanceId == d.Victim }) {
				victimLBs = append(victimLBs, *lb.LoadBalancerName)
			}
		}
	}
	if len(names) != 5 || !slices.Equal(victimLBs, []string{d.ClassicLB}) {
		t.Fatalf("names %v, victim in %v", names, victimLBs)
	}
	for name, in := range map[string]*elb.DescribeLoadBalancersInput{
		"page size 0":   {PageSize: aws.Int32(0)},
		"page size 401": {PageSize: aws.Int32(401)},
		"bad marker":    {Marker: aws.String("???")},
	} {
		_, err := c.ELB.DescribeLoadBalancers(context.Background(), in)
		if code(t, err) != "ValidationError" {
			t.Errorf("%s: %v, want ValidationError", name, err)
		}
	}
	_, err := c.ELB.DescribeLoadBalancers(context.Background(), &elb.DescribeLoadBalancersInput{LoadBalancerNames: []string{"nope"}})
	wantCode(t, err, "LoadBalancerNotFound")
}

func TestDeregisterInstancesFromLoadBalancer(t *testing.T) {
	tests := []struct {
		name     string
		lb       string
		ids      func(victim, bystander string) []string
		wantErr  string
		wantLeft func(victim, bystander string) []string
	}{
		{"victim", "web-classic", func(v, _ string) []string { return []string{v} }, "", func(_, b string) []string { return []string{b} }},
		{"instance that does not exist", "web-classic", func(_, _ string) []string { return []string{"i-0000000000000000a"} }, "InvalidInstance", nil},
		{"unknown load balancer", "nope", func(v, _ string) []string { return []string{v} }, "LoadBalancerNotFound", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, d, c := demo(t)
			var in []elbtypes.Instance
			for _, id := range tc.ids(d.Victim, d.Bystander) {
				in = append(in, elbtypes.Instance{InstanceId: aws.String(id)})
			}
			out, err := c.ELB.DeregisterInstancesFromLoadBalancer(context.Background(), &elb.DeregisterInstancesFromLoadBalancerInput{
				LoadBalancerName: aws.String(tc.lb), Instances: in})
			wantCode(t, err, tc.wantErr)
			if err != nil {
				if got := w.ClassicLBInstances(d.ClassicLB); len(got) != 2 {
					t.Errorf("a failed call changed the LB: %v", got)
				}
				return
			}
			var left []string
			for _, i := range out.Instances {
				left = append(left, *i.InstanceId)
			}
			if want := tc.wantLeft(d.Victim, d.Bystander); !slices.Equal(left, want) || !slices.Equal(w.ClassicLBInstances(d.ClassicLB), want) {
				t.Errorf("remaining = %v, want %v", left, want)
			}
		})
	}
	t.Run("an instance not registered is no error", func(t *testing.T) {
		w, d, c := demo(t)
		if _, err := c.ELB.DeregisterInstancesFromLoadBalancer(context.Background(), &elb.DeregisterInstancesFromLoadBalancerInput{
			LoadBalancerName: aws.String(d.ClassicLB), Instances: []elbtypes.Instance{{InstanceId: aws.String(d.Victim)}}}); err != nil {
			t.Fatal(err)
		}
		out, err := c.ELB.DeregisterInstancesFromLoadBalancer(context.Background(), &elb.DeregisterInstancesFromLoadBalancerInput{
			LoadBalancerName: aws.String(d.ClassicLB), Instances: []elbtypes.Instance{{InstanceId: aws.String(d.Victim)}}})
		if err != nil || len(out.Instances) != 1 || len(w.ClassicLBInstances(d.ClassicLB)) != 1 {
			t.Fatalf("second deregistration: %v %+v", err, out)
		}
	})
}
