package release_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// shape is one randomly generated instance and its surroundings.
type shape struct {
	seed uint64
	nacl bool
	w    *awsfake.World
	d    awsfake.Demo // Victim, Topic, Bucket, ASG ("" when none)
	v    view
}

// newShape builds, from seed, an instance with 1-4 interfaces in 1-3 subnets
// of 1-3 VPCs (IPv4, and IPv6 where the VPC has it), 1-3 volumes, owner
// attributes set or not, 0-3 target groups (instance and ip targets, with or
// without a port override), a classic load balancer or not, an Auto Scaling
// group or not, and a bystander sharing each VPC's groups.
func newShape(seed uint64) *shape {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	s := &shape{seed: seed, nacl: r.IntN(2) == 0, w: awsfake.New(account, region)}
	w := s.w
	type vpcInfo struct {
		id      string
		ipv6    bool
		subnets []string
		groups  []string
	}
	var vpcs []*vpcInfo
	for i := range 1 + r.IntN(3) {
		v := &vpcInfo{ipv6: r.IntN(2) == 0}
		v.id = w.AddVPC(fmt.Sprintf("10.%d.0.0/16", i), v.ipv6)
		s.v.securityScope = append(s.v.securityScope, v.id)
		web := w.AddSecurityGroup(v.id, "web", ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}})
		app := w.AddSecurityGroup(v.id, "app", ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8443), ToPort: aws.Int32(8443),
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(web)}}})
		db := w.AddSecurityGroup(v.id, "db")
		v.groups = []string{web, app, db}
		vpcs = append(vpcs, v)
	}
	// 1-3 subnets over the VPCs, in one zone (an instance's interfaces share one).
	for i := range 1 + r.IntN(3) {
		v := vpcs[i%len(vpcs)]
		sub := w.AddSubnet(v.id, fmt.Sprintf("10.%d.%d.0/24", slices.Index(vpcs, v), 1+len(v.subnets)), "")
		v.subnets = append(v.subnets, sub)
	}
	var nics []awsfake.NICSpec
	for i := range 1 + r.IntN(4) {
		v := vpcs[i%len(vpcs)]
		if len(v.subnets) == 0 {
			v = vpcs[0]
		}
		groups := slices.Clone(v.groups)
		r.Shuffle(len(groups), func(a, b int) { groups[a], groups[b] = groups[b], groups[a] })
		nic := awsfake.NICSpec{Subnet: v.subnets[r.IntN(len(v.subnets))], Groups: groups[:1+r.IntN(3)], PrivateIPs: 1 + r.IntN(2)}
		if v.ipv6 {
			nic.IPv6s = r.IntN(2)
		}
		nics = append(nics, nic)
	}
	var vols []awsfake.VolumeSpec
	for range 1 + r.IntN(3) {
		vols = append(vols, awsfake.VolumeSpec{DeleteOnTermination: r.IntN(2) == 0, SizeGiB: 8})
	}
	s.d.Victim = w.AddInstance(awsfake.InstanceSpec{ID: victimID, NICs: nics, Volumes: vols, Tags: map[string]string{"Name": "shape"}})
	if r.IntN(2) == 0 {
		w.SetInstanceAttributes(s.d.Victim, awsfake.InstanceAttributes{DisableAPITermination: r.IntN(2) == 0,
			ShutdownBehavior: []ec2types.ShutdownBehavior{ec2types.ShutdownBehaviorStop, ec2types.ShutdownBehaviorTerminate}[r.IntN(2)]})
	}
	s.v.instances = []string{s.d.Victim}
	// A bystander in every VPC, in the victim's groups: it must not move.
	for _, v := range vpcs {
		if len(v.subnets) == 0 {
			continue
		}
		by := w.AddInstance(awsfake.InstanceSpec{Subnet: v.subnets[0], Groups: v.groups[:2]})
		s.v.instances = append(s.v.instances, by)
	}
	// With the hard cut, a subnet of its own ACL (with an owner's rule) in
	// the first VPC is where the denies land.
	for _, v := range vpcs {
		for _, sub := range v.subnets {
			if acl := w.SubnetNetworkACL(sub); !slices.Contains(s.v.networkACLs, acl) {
				s.v.networkACLs = append(s.v.networkACLs, acl)
			}
		}
	}
	if r.IntN(2) == 0 {
		extra := w.AddSubnet(vpcs[0].id, "10.0.99.0/24", "")
		s.v.networkACLs = append(s.v.networkACLs, w.AddNetworkACL(vpcs[0].id, extra))
	}
	inst := w.Instance(s.d.Victim)
	var ips []string
	for _, ni := range inst.NetworkInterfaces {
		for _, ip := range ni.PrivateIpAddresses {
			ips = append(ips, aws.ToString(ip.PrivateIpAddress))
		}
		for _, ip := range ni.Ipv6Addresses {
			ips = append(ips, aws.ToString(ip.Ipv6Address))
		}
	}
	var asgTGs []string
	for i := range r.IntN(4) {
		vpc := vpcs[0].id
		if r.IntN(2) == 0 {
			arn := w.AddTargetGroup(fmt.Sprintf("tg-i-%d", i), elbv2types.TargetTypeEnumInstance, 80, vpc)
			w.RegisterTargets(arn, elbv2types.TargetDescription{Id: aws.String(s.d.Victim)})
			asgTGs = append(asgTGs, arn)
			s.v.targetGroups = append(s.v.targetGroups, arn)
			continue
		}
		arn := w.AddTargetGroup(fmt.Sprintf("tg-ip-%d", i), elbv2types.TargetTypeEnumIp, 443, vpc)
		td := elbv2types.TargetDescription{Id: aws.String(ips[r.IntN(len(ips))])}
		if r.IntN(2) == 0 {
			td.Port = aws.Int32(int32(8000 + r.IntN(1000)))
		}
		if netip.MustParseAddr(aws.ToString(td.Id)).Is6() {
			td.AvailabilityZone = aws.String("all")
		}
		w.RegisterTargets(arn, td)
		s.v.targetGroups = append(s.v.targetGroups, arn)
	}
	var lbs []string
	if r.IntN(2) == 0 {
		w.AddClassicLoadBalancer("shape-clb", s.d.Victim, s.v.instances[len(s.v.instances)-1])
		lbs = []string{"shape-clb"}
		s.v.classicLBs = lbs
	}
	if r.IntN(2) == 0 {
		s.d.ASG = "shape-asg"
		w.AddAutoScalingGroup(awsfake.ASGSpec{Name: s.d.ASG, Min: 1, Desired: 1, Max: int32(2 + r.IntN(2)), Instances: []string{s.d.Victim},
			LoadBalancers: lbs, TargetGroups: asgTGs})
		s.v.groups = []string{s.d.ASG}
	}
	s.d.Topic = w.AddTopic("firebreak-reports")
	s.d.Bucket = "firebreak-evidence-" + account
	w.AddVersionedBucket(s.d.Bucket)
	s.d.GuardTable = "firebreak-guard"
	w.AddGuardTable(s.d.GuardTable)
	return s
}

// coverage counts what the shapes tried held, so the figure means something.
type coverage struct {
	shapes, hardCut, ipv6, multiVPC, autoScaling, classic, targetGroups, interfaces int
}

func (c coverage) String() string {
	return fmt.Sprintf("%d shapes: %d with hard-cut entries, %d with IPv6, %d in several VPCs, %d in an Auto Scaling group, %d behind a classic load balancer; %d interfaces and %d target groups in all",
		c.shapes, c.hardCut, c.ipv6, c.multiVPC, c.autoScaling, c.classic, c.interfaces, c.targetGroups)
}

func (c *coverage) add(s *shape, contained *report.Report) {
	c.shapes++
	inst := s.w.Instance(s.d.Victim)
	vpcs := map[string]bool{}
	v6 := false
	for _, ni := range inst.NetworkInterfaces {
		vpcs[aws.ToString(ni.VpcId)] = true
		v6 = v6 || len(ni.Ipv6Addresses) > 0
	}
	c.interfaces += len(inst.NetworkInterfaces)
	c.targetGroups += len(s.v.targetGroups)
	for _, b := range []struct {
		n  *int
		ok bool
	}{{&c.hardCut, len(contained.NACLEntries) > 0}, {&c.ipv6, v6}, {&c.multiVPC, len(vpcs) > 1},
		{&c.autoScaling, s.d.ASG != ""}, {&c.classic, len(s.v.classicLBs) > 0}} {
		if b.ok {
			*b.n++
		}
	}
}

// roundTrip contains a shape's instance, releases it with reattach, and
// checks the world reads back as it was before the containment.
func roundTrip(t *testing.T, s *shape, e *env) *report.Report {
	t.Helper()
	before := s.v.render(t, s.w)
	asgBefore := s.w.AutoScalingGroup(s.d.ASG)
	contained := e.containVictim()
	if contained.Decision != report.Contain {
		t.Fatalf("seed %d: containment decided %s: %s", s.seed, contained.Decision, contained.Reason)
	}
	rel, err := e.releaseVictim(false, true)
	if err != nil || rel.Decision != report.Release || len(rel.Failed()) > 0 {
		t.Fatalf("seed %d (hard cut %v): release: %v\n%s", s.seed, s.nacl, err, stepsOf([]*report.Report{rel}))
	}
	// Registered targets pass their health checks before they are healthy.
	s.w.Advance(awsfake.HealthCheckDelay)
	if d := diff(before, s.v.render(t, s.w)); len(d) > 0 {
		t.Fatalf("seed %d (hard cut %v): the world after contain + release differs:\n%s\nrelease:\n%s", s.seed, s.nacl,
			d[0], stepsOf([]*report.Report{rel}))
	}
	if s.d.ASG != "" {
		// The one thing a release leaves changed: the replacement the group
		// launched stays, so the desired capacity is one more.
		after := s.w.AutoScalingGroup(s.d.ASG)
		if aws.ToInt32(after.DesiredCapacity) != aws.ToInt32(asgBefore.DesiredCapacity)+1 || len(after.Instances) != len(asgBefore.Instances)+1 {
			t.Errorf("seed %d: %s desired %d with %d members, want %d with %d (the replacement stays)", s.seed, s.d.ASG,
				aws.ToInt32(after.DesiredCapacity), len(after.Instances), aws.ToInt32(asgBefore.DesiredCapacity)+1, len(asgBefore.Instances)+1)
		}
	}
	return contained
}

// demoShape is the demo victim as a shape (with a subnet of its own ACL,
// where the hard cut lands).
func demoShape(t *testing.T, nacl bool) *shape {
	t.Helper()
	w := awsfake.New(account, region)
	d := w.SeedDemo(victimID)
	s := &shape{w: w, d: d, v: demoView(d), nacl: nacl}
	sub := w.AddSubnet(d.VPC, "10.0.3.0/24", "")
	s.v.networkACLs = append(s.v.networkACLs, w.AddNetworkACL(d.VPC, sub))
	return s
}

func TestRoundTripDemo(t *testing.T) {
	for _, nacl := range []bool{false, true} {
		t.Run(fmt.Sprintf("hard cut %v", nacl), func(t *testing.T) {
			s := demoShape(t, nacl)
			roundTrip(t, s, newEnv(t, s.w, s.d, awsfake.Factory{W: s.w}, nacl))
		})
	}
}

// shapesOnTheFake is how many random shapes the in-memory round trip tries.
const shapesOnTheFake = 300

func TestRoundTripRandomShapes(t *testing.T) {
	var c coverage
	for seed := uint64(1); seed <= shapesOnTheFake; seed++ {
		s := newShape(seed)
		c.add(s, roundTrip(t, s, newEnv(t, s.w, s.d, awsfake.Factory{W: s.w}, s.nacl)))
	}
	t.Logf("contain + release restored the world for %s", c)
}
