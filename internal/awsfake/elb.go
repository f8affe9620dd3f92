package awsfake

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
)

// ELB is the fake Classic Load Balancing API (awsapi.ELB).
type ELB struct{ w *World }

type classicLB struct {
	name      string
	instances []string
	created   time.Time
	dnsName   string
}

// AddClassicLoadBalancer seeds a Classic Load Balancer with registered instances.
func (w *World) AddClassicLoadBalancer(name string, instanceIDs ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.classicLBs.has(name) {
		panic(fmt.Sprintf("awsfake: load balancer %s already exists", name))
	}
	for _, id := range instanceIDs {
		if !w.instances.has(id) {
			panic(fmt.Sprintf("awsfake: no instance %q", id))
		}
	}
	w.seq++
	w.classicLBs.put(name, &classicLB{
		name:      name,
		instances: slices.Clone(instanceIDs),
		created:   w.nowLocked(),
		dnsName:   fmt.Sprintf("%s-%010d.%s.elb.amazonaws.com", name, w.seq, w.region),
	})
}

// ClassicLBInstances lists the instances registered with a Classic Load Balancer.
func (w *World) ClassicLBInstances(name string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if lb, ok := w.classicLBs.get(name); ok {
		return slices.Clone(lb.instances)
	}
	return nil
}

func errLBNotFound(name string) error {
	return apiError("LoadBalancerNotFound", "There is no ACTIVE Load Balancer named '%s'", name)
}

func (w *World) renderClassicLB(lb *classicLB) elbtypes.LoadBalancerDescription {
	out := elbtypes.LoadBalancerDescription{
		LoadBalancerName: aws.String(lb.name),
		DNSName:          aws.String(lb.dnsName),
		CreatedTime:      aws.Time(lb.created),
		Scheme:           aws.String("internet-facing"),
		Instances:        []elbtypes.Instance{},
		ListenerDescriptions: []elbtypes.ListenerDescription{{Listener: &elbtypes.Listener{
			Protocol: aws.String("HTTP"), LoadBalancerPort: 80, InstanceProtocol: aws.String("HTTP"), InstancePort: aws.Int32(80),
		}}},
	}
	for _, id := range lb.instances {
		out.Instances = append(out.Instances, elbtypes.Instance{InstanceId: aws.String(id)})
	}
	return out
}

// DescribeLoadBalancers lists Classic Load Balancers, PageSize at a time.
func (c *ELB) DescribeLoadBalancers(ctx context.Context, in *elb.DescribeLoadBalancersInput, _ ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error) {
	return call(ctx, c.w, svcELB, "DescribeLoadBalancers", in, c.w.describeClassicLBs)
}

func (w *World) describeClassicLBs(in *elb.DescribeLoadBalancersInput) (*elb.DescribeLoadBalancersOutput, error) {
	if err := checkPageSize(in.PageSize); err != nil {
		return nil, err
	}
	for _, name := range in.LoadBalancerNames {
		if !w.classicLBs.has(name) {
			return nil, errLBNotFound(name)
		}
	}
	var found []elbtypes.LoadBalancerDescription
	for _, lb := range w.classicLBs.all() {
		if len(in.LoadBalancerNames) == 0 || slices.Contains(in.LoadBalancerNames, lb.name) {
			found = append(found, w.renderClassicLB(lb))
		}
	}
	out, next, ok := page(found, elbPageSize(in.PageSize), in.Marker)
	if !ok {
		return nil, validationError("Invalid Marker")
	}
	return &elb.DescribeLoadBalancersOutput{LoadBalancerDescriptions: out, NextMarker: next}, nil
}

// elbPageSize is the page an ELB Describe call returns: PageSize, or 400 when
// unset, as AWS does, so callers that ignore markers miss the rest.
func elbPageSize(size *int32) int {
	if size == nil {
		return 400
	}
	return int(*size)
}

// checkPageSize applies the ELB APIs' PageSize bounds (1 to 400).
func checkPageSize(size *int32) error {
	if size == nil {
		return nil
	}
	if *size < 1 {
		return validationError("1 validation error detected: Value '%d' at 'pageSize' failed to satisfy constraint: Member must have value greater than or equal to 1", *size)
	}
	if *size > 400 {
		return validationError("1 validation error detected: Value '%d' at 'pageSize' failed to satisfy constraint: Member must have value less than or equal to 400", *size)
	}
	return nil
}

// classicRequest validates a (de)registration request: the load balancer
// exists, and every instance exists and passes usable.
func (w *World) classicRequest(name *string, instances []elbtypes.Instance, usable func(id string) bool) (*classicLB, []string, error) {
	if name == nil {
		return nil, nil, validationError("1 validation error detected: Value null at 'loadBalancerName' failed to satisfy constraint: Member must not be null")
	}
	if instances == nil {
		return nil, nil, validationError("1 validation error detected: Value null at 'instances' failed to satisfy constraint: Member must not be null")
	}
	lb, ok := w.classicLBs.get(*name)
	if !ok {
		return nil, nil, errLBNotFound(*name)
	}
	var invalid, ids []string
	for _, i := range instances {
		id := aws.ToString(i.InstanceId)
		if !w.instances.has(id) || !usable(id) {
			invalid = append(invalid, id)
		}
		ids = append(ids, id)
	}
	if len(invalid) > 0 {
		return nil, nil, apiError("InvalidInstance", "The requested instance(s) %s are not valid.", strings.Join(invalid, ", "))
	}
	return lb, ids, nil
}

// DeregisterInstancesFromLoadBalancer removes instances from a Classic Load
// Balancer and returns the ones still registered.
func (c *ELB) DeregisterInstancesFromLoadBalancer(ctx context.Context, in *elb.DeregisterInstancesFromLoadBalancerInput, _ ...func(*elb.Options)) (*elb.DeregisterInstancesFromLoadBalancerOutput, error) {
	return call(ctx, c.w, svcELB, "DeregisterInstancesFromLoadBalancer", in, c.w.deregisterClassic)
}

func (w *World) deregisterClassic(in *elb.DeregisterInstancesFromLoadBalancerInput) (*elb.DeregisterInstancesFromLoadBalancerOutput, error) {
	lb, ids, err := w.classicRequest(in.LoadBalancerName, in.Instances, func(string) bool { return true })
	if err != nil {
		return nil, err
	}
	// An instance that is not registered is not an error: AWS asks callers to check.
	lb.instances = slices.DeleteFunc(lb.instances, func(id string) bool { return slices.Contains(ids, id) })
	return &elb.DeregisterInstancesFromLoadBalancerOutput{Instances: w.renderClassicLB(lb).Instances}, nil
}
