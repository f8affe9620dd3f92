package runbook_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// registered is an API server outside any Auto Scaling group (so only the
// runbook's deregistration removes it), registered with the bystander in a
// classic load balancer, an instance target group (default port and a port
// override) and an ip target group (primary IP with a port override,
// secondary IP on the group's port).
type registered struct {
	id, primaryIP, secondaryIP string
	classic                    string
	instanceTG, ipTG           string
	bystanderIP                string
}

func registerAPIServer(e *env) registered {
	r := registered{classic: "api-classic", bystanderIP: e.d.BystanderIP}
	r.id = e.w.AddInstance(awsfake.InstanceSpec{NICs: []awsfake.NICSpec{{Subnet: e.d.SubnetA, Groups: []string{e.d.WebGroup}, PrivateIPs: 2}}})
	ips := e.w.Instance(r.id).NetworkInterfaces[0].PrivateIpAddresses
	r.primaryIP, r.secondaryIP = aws.ToString(ips[0].PrivateIpAddress), aws.ToString(ips[1].PrivateIpAddress)
	e.w.AddClassicLoadBalancer(r.classic, r.id, e.d.Bystander)
	r.instanceTG = e.w.AddTargetGroup("api-tg", elbv2types.TargetTypeEnumInstance, 80, e.d.VPC)
	e.w.RegisterTargets(r.instanceTG, target(r.id, 0), target(r.id, 8080), target(e.d.Bystander, 0))
	r.ipTG = e.w.AddTargetGroup("api-ip-tg", elbv2types.TargetTypeEnumIp, 443, e.d.VPC)
	e.w.RegisterTargets(r.ipTG, target(r.primaryIP, 8443), target(r.secondaryIP, 0), target(r.bystanderIP, 0))
	return r
}

func target(id string, port int32) elbv2types.TargetDescription {
	t := elbv2types.TargetDescription{Id: aws.String(id)}
	if port != 0 {
		t.Port = aws.Int32(port)
	}
	return t
}

// targetStates renders a target group's targets as "id:port state", sorted.
func targetStates(w *awsfake.World, arn string) []string {
	var out []string
	for _, d := range w.Targets(arn) {
		out = append(out, fmt.Sprintf("%s:%d %s", aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port), d.TargetHealth.State))
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

func TestDeregisterRemovesEveryRegistrationWithItsPort(t *testing.T) {
	e := newEnv(t)
	r := registerAPIServer(e)
	demoTargets := targetStates(e.w, e.d.IPTargetGroup)

	out := e.runbook().Run(context.Background(), e.target(r.id))

	wantSteps(t, out, map[string]report.Status{report.StepDetach: report.NotApplicable})
	if s := stepOf(t, out, report.StepDeregister); len(s.Actions) != 5 {
		t.Errorf("deregister actions %v, want 5 (1 classic, 2 instance targets, 2 ip targets)", s.Actions)
	}
	if got := e.w.ClassicLBInstances(r.classic); !slices.Equal(got, []string{e.d.Bystander}) {
		t.Errorf("classic load balancer holds %v, want only the bystander", got)
	}
	for _, tc := range []struct {
		arn  string
		want []string
	}{
		{r.instanceTG, sorted(r.id+":80 draining", r.id+":8080 draining", e.d.Bystander+":80 healthy")},
		{r.ipTG, sorted(r.primaryIP+":8443 draining", r.secondaryIP+":443 draining", r.bystanderIP+":443 healthy")},
		{e.d.IPTargetGroup, demoTargets},
	} {
		if got := targetStates(e.w, tc.arn); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.arn, got, tc.want)
		}
	}
	// Once draining is over only the bystander is left.
	e.w.Advance(awsfake.DeregistrationDelay)
	for arn, want := range map[string][]string{r.instanceTG: {e.d.Bystander + ":80 healthy"}, r.ipTG: {r.bystanderIP + ":443 healthy"}} {
		if got := targetStates(e.w, arn); !slices.Equal(got, want) {
			t.Errorf("%s after draining: %v, want %v", arn, got, want)
		}
	}
}

// smallPages makes the load balancer APIs answer a few items at a time, as
// AWS does once an account has more than a page (400) of them.
type smallPagesELB struct {
	awsapi.ELB
	pages atomic.Int32
}

func (s *smallPagesELB) DescribeLoadBalancers(ctx context.Context, in *elb.DescribeLoadBalancersInput, o ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error) {
	s.pages.Add(1)
	c := *in
	c.PageSize = aws.Int32(2)
	return s.ELB.DescribeLoadBalancers(ctx, &c, o...)
}

type smallPagesELBV2 struct {
	awsapi.ELBV2
	pages atomic.Int32
}

func (s *smallPagesELBV2) DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput, o ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error) {
	s.pages.Add(1)
	c := *in
	c.PageSize = aws.Int32(2)
	return s.ELBV2.DescribeTargetGroups(ctx, &c, o...)
}

func TestDeregisterFindsRegistrationsOnLaterPages(t *testing.T) {
	e := newEnv(t)
	lbs, tgs := &smallPagesELB{ELB: e.api.ELB}, &smallPagesELBV2{ELBV2: e.api.ELBV2}
	e.api.ELB, e.api.ELBV2 = lbs, tgs
	for i := range 6 {
		e.w.AddClassicLoadBalancer(fmt.Sprintf("filler-%d", i), e.d.Bystander)
		arn := e.w.AddTargetGroup(fmt.Sprintf("filler-%d", i), elbv2types.TargetTypeEnumInstance, 80, e.d.VPC)
		e.w.RegisterTargets(arn, target(e.d.Bystander, 0))
	}
	// Registered last, so it sits on the last page of each listing.
	r := registerAPIServer(e)

	out := e.runbook().Run(context.Background(), e.target(r.id))

	wantSteps(t, out, map[string]report.Status{report.StepDetach: report.NotApplicable})
	if lbs.pages.Load() < 2 || tgs.pages.Load() < 2 {
		t.Fatalf("listed %d classic and %d target group pages; the test needs several", lbs.pages.Load(), tgs.pages.Load())
	}
	if got := e.w.ClassicLBInstances(r.classic); slices.Contains(got, r.id) {
		t.Errorf("still registered with %s on the last page: %v", r.classic, got)
	}
	if got := targetStates(e.w, r.ipTG); !slices.Contains(got, r.primaryIP+":8443 draining") {
		t.Errorf("ip target group on the last page: %v, want the victim draining", got)
	}
}

// droppingELBV2 answers DeregisterTargets with success and does nothing, as
// AWS does when a request names a target that does not match.
type droppingELBV2 struct{ awsapi.ELBV2 }

func (droppingELBV2) DeregisterTargets(context.Context, *elbv2.DeregisterTargetsInput, ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error) {
	return &elbv2.DeregisterTargetsOutput{}, nil
}

func TestDeregisterThatLeavesTheTargetFails(t *testing.T) {
	e := newEnv(t)
	e.api.ELBV2 = droppingELBV2{e.api.ELBV2}
	r := registerAPIServer(e)

	out := e.runbook().Run(context.Background(), e.target(r.id))

	wantSteps(t, out, map[string]report.Status{report.StepDetach: report.NotApplicable, report.StepDeregister: report.Failed})
	if s := stepOf(t, out, report.StepDeregister); s.Error != "StillRegistered" {
		t.Errorf("deregister error %q (%s), want StillRegistered", s.Error, s.Detail)
	}
	if got := targetStates(e.w, r.ipTG); !slices.Contains(got, r.primaryIP+":8443 healthy") {
		t.Errorf("ip target group: %v; the test expects the target still there", got)
	}
	if got := e.w.ClassicLBInstances(r.classic); slices.Contains(got, r.id) {
		t.Errorf("the classic load balancer still holds the instance: %v", got)
	}
}

// The demo's instance target group is also the Auto Scaling group's: the
// detach drains it while the runbook deregisters, and neither may trip the other.
func TestDeregisterBesideTheGroupsOwnDeregistration(t *testing.T) {
	e := newEnv(t)

	out := e.contain()

	wantSteps(t, out, nil)
	e.w.Advance(awsfake.DeregistrationDelay + time.Second)
	for arn, want := range map[string][]string{
		e.d.TargetGroup:   {e.d.Bystander + ":80 healthy"},
		e.d.IPTargetGroup: {e.d.BystanderIP + ":443 healthy"},
	} {
		if got := targetStates(e.w, arn); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", arn, got, want)
		}
	}
	if got := e.w.ClassicLBInstances(e.d.ClassicLB); !slices.Equal(got, []string{e.d.Bystander}) {
		t.Errorf("classic load balancer holds %v, want only the bystander", got)
	}
	if got := len(e.w.Targets(e.d.LambdaTargetGroup)); got != 1 {
		t.Errorf("Lambda target group has %d targets, want its 1 untouched", got)
	}
}
