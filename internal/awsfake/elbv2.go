package awsfake

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// ELBV2 is the fake Elastic Load Balancing v2 API (awsapi.ELBV2).
type ELBV2 struct{ w *World }

// DeregistrationDelay is how long a deregistered target stays "draining"
// (the target group default, 300 s) before it disappears.
const DeregistrationDelay = 300 * time.Second

type targetGroup struct {
	name, arn string
	ttype     elbv2types.TargetTypeEnum
	port      int32
	vpcID     string
	targets   []*target
}

type target struct {
	id         string
	port       int32
	az         string
	draining   bool
	drainUntil time.Time
	// healthyAt is when a target registered through the API passes its
	// first health checks; until then it is "initial".
	healthyAt time.Time
}

// AddTargetGroup seeds a target group and returns its ARN. Lambda target
// groups have no port or VPC; pass 0 and "".
func (w *World) AddTargetGroup(name string, targetType elbv2types.TargetTypeEnum, port int32, vpcID string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, tg := range w.tgs.all() {
		if tg.name == name {
			panic(fmt.Sprintf("awsfake: target group %s already exists", name))
		}
	}
	w.seq++
	tg := &targetGroup{
		name:  name,
		arn:   fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:targetgroup/%s/%016x", w.region, w.account, name, w.seq*0x9e3779b9),
		ttype: targetType,
		port:  port,
		vpcID: vpcID,
	}
	w.tgs.put(tg.arn, tg)
	return tg.arn
}

// RegisterTargets seeds healthy targets; a nil Port means the group's port.
func (w *World) RegisterTargets(tgARN string, targets ...elbv2types.TargetDescription) {
	w.mu.Lock()
	defer w.mu.Unlock()
	tg := w.mustTG(tgARN)
	for _, t := range targets {
		id := aws.ToString(t.Id)
		port := tg.port
		if t.Port != nil {
			port = *t.Port
		}
		az := aws.ToString(t.AvailabilityZone)
		if az == "" {
			az = w.targetAZ(tg, id)
		}
		tg.targets = append(tg.targets, &target{id: id, port: port, az: az})
	}
}

// targetAZ finds where a target lives: the instance's zone, or the zone of the
// subnet holding the address.
func (w *World) targetAZ(tg *targetGroup, id string) string {
	switch tg.ttype {
	case elbv2types.TargetTypeEnumInstance:
		if in, ok := w.instances.get(id); ok {
			return in.az
		}
	case elbv2types.TargetTypeEnumIp:
		if a, err := netip.ParseAddr(id); err == nil {
			for _, s := range w.subnets.all() {
				if netip.MustParsePrefix(s.cidr).Contains(a) || s.ipv6CIDR != "" && netip.MustParsePrefix(s.ipv6CIDR).Contains(a) {
					return s.az
				}
			}
			return "all" // outside the VPC
		}
	}
	return ""
}

func (w *World) mustTG(arn string) *targetGroup {
	tg, ok := w.tgs.get(arn)
	if !ok {
		panic(fmt.Sprintf("awsfake: no target group %q", arn))
	}
	return tg
}

// expire drops targets whose deregistration delay has run out.
func (tg *targetGroup) expire(now time.Time) {
	tg.targets = slices.DeleteFunc(tg.targets, func(t *target) bool { return t.draining && !now.Before(t.drainUntil) })
}

// Targets returns a target group's targets as DescribeTargetHealth shows them,
// draining ones included.
func (w *World) Targets(tgARN string) []elbv2types.TargetHealthDescription {
	w.mu.Lock()
	defer w.mu.Unlock()
	tg, ok := w.tgs.get(tgARN)
	if !ok {
		return nil
	}
	tg.expire(w.nowLocked())
	var out []elbv2types.TargetHealthDescription
	for _, t := range tg.targets {
		out = append(out, renderTarget(t, w.nowLocked()))
	}
	return out
}

func renderTarget(t *target, now time.Time) elbv2types.TargetHealthDescription {
	d := elbv2types.TargetHealthDescription{
		Target:          &elbv2types.TargetDescription{Id: aws.String(t.id), Port: aws.Int32(t.port)},
		HealthCheckPort: aws.String(strconv.Itoa(int(t.port))),
		TargetHealth:    &elbv2types.TargetHealth{State: elbv2types.TargetHealthStateEnumHealthy},
	}
	if t.az != "" {
		d.Target.AvailabilityZone = aws.String(t.az)
	}
	if t.port == 0 { // lambda targets have no port
		d.Target.Port, d.HealthCheckPort = nil, nil
	}
	if now.Before(t.healthyAt) {
		d.TargetHealth = &elbv2types.TargetHealth{
			State:       elbv2types.TargetHealthStateEnumInitial,
			Reason:      elbv2types.TargetHealthReasonEnumRegistrationInProgress,
			Description: aws.String("Target registration is in progress"),
		}
	}
	if t.draining {
		d.TargetHealth = &elbv2types.TargetHealth{
			State:       elbv2types.TargetHealthStateEnumDraining,
			Reason:      elbv2types.TargetHealthReasonEnumDeregistrationInProgress,
			Description: aws.String("Target deregistration is in progress"),
		}
	}
	return d
}

func errTGNotFound() error {
	return apiError("TargetGroupNotFound", "One or more target groups not found")
}

func (w *World) renderTG(tg *targetGroup) elbv2types.TargetGroup {
	out := elbv2types.TargetGroup{
		TargetGroupArn:             aws.String(tg.arn),
		TargetGroupName:            aws.String(tg.name),
		TargetType:                 tg.ttype,
		LoadBalancerArns:           []string{},
		HealthCheckEnabled:         aws.Bool(tg.ttype != elbv2types.TargetTypeEnumLambda),
		HealthCheckIntervalSeconds: aws.Int32(30),
		HealthCheckTimeoutSeconds:  aws.Int32(5),
		HealthyThresholdCount:      aws.Int32(5),
		UnhealthyThresholdCount:    aws.Int32(2),
		HealthCheckPath:            aws.String("/"),
	}
	if tg.ttype != elbv2types.TargetTypeEnumLambda {
		out.Port = aws.Int32(tg.port)
		out.Protocol = elbv2types.ProtocolEnumHttp
		out.ProtocolVersion = aws.String("HTTP1")
		out.VpcId = aws.String(tg.vpcID)
		out.IpAddressType = elbv2types.TargetGroupIpAddressTypeEnumIpv4
		out.HealthCheckPort = aws.String("traffic-port")
		out.HealthCheckProtocol = elbv2types.ProtocolEnumHttp
		out.Matcher = &elbv2types.Matcher{HttpCode: aws.String("200")}
	}
	return out
}

// DescribeTargetGroups lists target groups, PageSize at a time.
func (c *ELBV2) DescribeTargetGroups(ctx context.Context, in *elbv2.DescribeTargetGroupsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error) {
	return call(ctx, c.w, svcELB, "DescribeTargetGroups", in, c.w.describeTargetGroups)
}

func (w *World) describeTargetGroups(in *elbv2.DescribeTargetGroupsInput) (*elbv2.DescribeTargetGroupsOutput, error) {
	if err := checkPageSize(in.PageSize); err != nil {
		return nil, err
	}
	if in.LoadBalancerArn != nil {
		// No load balancer is modelled, so every ARN is unknown.
		return nil, apiError("LoadBalancerNotFound", "One or more load balancers not found")
	}
	names := map[string]bool{}
	for _, tg := range w.tgs.all() {
		names[tg.name] = true
	}
	for _, arn := range in.TargetGroupArns {
		if !w.tgs.has(arn) {
			return nil, errTGNotFound()
		}
	}
	for _, n := range in.Names {
		if !names[n] {
			return nil, errTGNotFound()
		}
	}
	var found []elbv2types.TargetGroup
	for _, tg := range w.tgs.all() {
		if len(in.TargetGroupArns) > 0 && !slices.Contains(in.TargetGroupArns, tg.arn) ||
			len(in.Names) > 0 && !slices.Contains(in.Names, tg.name) {
			continue
		}
		found = append(found, w.renderTG(tg))
	}
	out, next, ok := page(found, elbPageSize(in.PageSize), in.Marker)
	if !ok {
		return nil, validationError("Invalid Marker")
	}
	return &elbv2.DescribeTargetGroupsOutput{TargetGroups: out, NextMarker: next}, nil
}

// DescribeTargetHealth lists a target group's targets and their state.
func (c *ELBV2) DescribeTargetHealth(ctx context.Context, in *elbv2.DescribeTargetHealthInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	return call(ctx, c.w, svcELB, "DescribeTargetHealth", in, c.w.describeTargetHealth)
}

func (w *World) describeTargetHealth(in *elbv2.DescribeTargetHealthInput) (*elbv2.DescribeTargetHealthOutput, error) {
	if in.TargetGroupArn == nil {
		return nil, validationError("1 validation error detected: Value null at 'targetGroupArn' failed to satisfy constraint: Member must not be null")
	}
	tg, ok := w.tgs.get(*in.TargetGroupArn)
	if !ok {
		return nil, errTGNotFound()
	}
	now := w.nowLocked()
	tg.expire(now)
	out := &elbv2.DescribeTargetHealthOutput{TargetHealthDescriptions: []elbv2types.TargetHealthDescription{}}
	if len(in.Targets) == 0 {
		for _, t := range tg.targets {
			out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, renderTarget(t, now))
		}
		return out, nil
	}
	for _, want := range in.Targets {
		if err := tg.checkTargetID(w, aws.ToString(want.Id)); err != nil {
			return nil, err
		}
		matched := false
		for _, t := range tg.targets {
			if t.id == aws.ToString(want.Id) && (want.Port == nil || *want.Port == t.port) {
				out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, renderTarget(t, now))
				matched = true
			}
		}
		if !matched {
			port := tg.port
			if want.Port != nil {
				port = *want.Port
			}
			out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, elbv2types.TargetHealthDescription{
				Target:          &elbv2types.TargetDescription{Id: aws.String(aws.ToString(want.Id)), Port: aws.Int32(port)},
				HealthCheckPort: aws.String(strconv.Itoa(int(port))),
				TargetHealth: &elbv2types.TargetHealth{
					State:       elbv2types.TargetHealthStateEnumUnused,
					Reason:      elbv2types.TargetHealthReasonEnumNotRegistered,
					Description: aws.String("Target is not registered to the target group"),
				},
			})
		}
	}
	return out, nil
}

// checkTargetID rejects ids that cannot be targets of this group's type.
func (tg *targetGroup) checkTargetID(w *World, id string) error {
	switch tg.ttype {
	case elbv2types.TargetTypeEnumInstance:
		if !wellFormed("i", id) {
			return apiError("InvalidTarget", "The following targets are not valid instances: '%s'", id)
		}
		if !w.instances.has(id) {
			return apiError("InvalidTarget", "The following targets are not valid instances: '%s'", id)
		}
	case elbv2types.TargetTypeEnumIp:
		if _, err := netip.ParseAddr(id); err != nil {
			return apiError("InvalidTarget", "The IP address '%s' is not a valid IPv4 or IPv6 address", id)
		}
	case elbv2types.TargetTypeEnumLambda, elbv2types.TargetTypeEnumAlb:
		if !strings.HasPrefix(id, "arn:") {
			return apiError("InvalidTarget", "The target '%s' is not a valid ARN", id)
		}
	}
	return nil
}

// targetsOf validates a (de)registration request: the group exists and each
// target is one its type can hold.
func (w *World) targetsOf(arn *string, targets []elbv2types.TargetDescription) (*targetGroup, error) {
	if arn == nil {
		return nil, validationError("1 validation error detected: Value null at 'targetGroupArn' failed to satisfy constraint: Member must not be null")
	}
	if len(targets) == 0 {
		return nil, validationError("1 validation error detected: Value null at 'targets' failed to satisfy constraint: Member must not be null")
	}
	tg, ok := w.tgs.get(*arn)
	if !ok {
		return nil, errTGNotFound()
	}
	for _, t := range targets {
		if t.Id == nil {
			return nil, validationError("1 validation error detected: Value null at 'targets.member.id' failed to satisfy constraint: Member must not be null")
		}
		if err := tg.checkTargetID(w, *t.Id); err != nil {
			return nil, err
		}
	}
	return tg, nil
}

// DeregisterTargets starts draining the matching targets. A target registered
// with a port override only matches that port; matching nothing is no error.
func (c *ELBV2) DeregisterTargets(ctx context.Context, in *elbv2.DeregisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error) {
	return call(ctx, c.w, svcELB, "DeregisterTargets", in, c.w.deregisterTargets)
}

func (w *World) deregisterTargets(in *elbv2.DeregisterTargetsInput) (*elbv2.DeregisterTargetsOutput, error) {
	tg, err := w.targetsOf(in.TargetGroupArn, in.Targets)
	if err != nil {
		return nil, err
	}
	now := w.nowLocked()
	tg.expire(now)
	for _, want := range in.Targets {
		port := tg.port
		if want.Port != nil {
			port = *want.Port
		}
		w.drain(tg, *want.Id, port, now)
	}
	return &elbv2.DeregisterTargetsOutput{}, nil
}

// drain starts deregistering one target; lambda targets go at once.
func (w *World) drain(tg *targetGroup, id string, port int32, now time.Time) {
	for _, t := range tg.targets {
		if t.id != id || t.port != port && tg.ttype != elbv2types.TargetTypeEnumLambda || t.draining {
			continue
		}
		t.draining, t.drainUntil = true, now.Add(DeregistrationDelay)
		if tg.ttype == elbv2types.TargetTypeEnumLambda {
			t.drainUntil = now
		}
	}
	tg.expire(now)
}
