// Package loadtest measures the containment handler under faults and load:
// the real handler and the real SDK clients, over HTTP, against the
// wire-level simulator (internal/awssim) of one account, with Lambda's
// execution environments, concurrency and async retries modelled in
// process. The figures come from reading the simulated world afterwards,
// never from the reports the handler returns.
package loadtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
)

// Account and Region of the simulated account: those of the sample events.
const (
	Account = "123456789012"
	Region  = "us-east-1"
)

// EventTemplate is the finding every victim's event is made from.
const EventTemplate = "guardduty-backdoor-c2.json"

// Victim is one flagged instance and everything it belongs to.
type Victim struct {
	InstanceID string
	FindingID  string
	VPC        string
	ENIs       []string
	IPs        []string // every IPv4 of every interface
	Volumes    []string
	ASG        string   // "" when in no Auto Scaling group
	ClassicLBs []string // classic load balancers it is registered with
	// TargetGroups are the target groups holding the instance (by id, or by
	// an address for ip target groups).
	TargetGroups []string
}

// Fleet is a simulated account seeded with victims and bystanders.
type Fleet struct {
	World      *awsfake.World
	Victims    []Victim
	Bystanders []string
	// Topic and Bucket are the report topic and evidence bucket, in Reports:
	// World itself, or the security account's world when the fleet is a
	// member of an organization (OrgFleet).
	Topic   string
	Bucket  string
	Reports *awsfake.World
	// GuardTable is the blast-radius guard's table, in Reports too.
	GuardTable string
	// Role is the instance role every instance shares (FleetSpec.SharedRole).
	Role string
}

// FleetSpec sizes a fleet.
type FleetSpec struct {
	Victims    int
	Bystanders int
	// Seed makes the layout (interfaces, volumes, memberships) reproducible.
	Seed uint64
	// Account is the fleet's account (Account when empty).
	Account string
	// IDBase is where the world's ids start, so that member accounts of
	// one organization do not share instance or volume ids.
	IDBase uint64
	// SharedRole gives every victim and bystander one instance profile and
	// role, as a fleet launched from one template has: the worm's case for
	// the credentials step.
	SharedRole bool
	// GuardCap is the function's maxAutomaticContainments; 0 means the
	// largest allowed, so the guard never holds a scenario back that is not
	// about the guard.
	GuardCap int
}

func (s FleetSpec) guardCap() int {
	if s.GuardCap == 0 {
		return contract.MaxAutomaticContainmentsLimit
	}
	return s.GuardCap
}

// NewFleet seeds a world: two VPCs (one dual-stack) of two subnets each,
// victims with one or two interfaces and one or two volumes, about a third
// of them in Auto Scaling groups of up to five, some behind classic load
// balancers and in instance or ip target groups, and bystanders sharing the
// same groups and load balancers, which containment must leave alone.
// The world's clock is the wall clock, as the handler's is.
func NewFleet(spec FleetSpec) *Fleet {
	rng := rand.New(rand.NewPCG(spec.Seed, spec.Seed^0xf1ee7))
	if spec.Account == "" {
		spec.Account = Account
	}
	w := awsfake.New(spec.Account, Region)
	w.ReserveIDs(spec.IDBase)
	w.SetClock(time.Now)
	f := &Fleet{World: w, Reports: w}
	profile := ""
	if spec.SharedRole {
		f.Role = "fleet-worker"
		w.AddInstanceRole(f.Role, map[string]string{"App": "web"})
		w.AttachAWSManagedPolicy(f.Role, "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")
		profile = w.AddInstanceProfile(f.Role, f.Role)
	}

	type network struct {
		vpc      string
		subnets  []string
		groups   []string
		ipv6     bool
		instTG   string
		ipTG     string
		lbName   string
		lbAlso   []string
		tgTarget []elbv2types.TargetDescription
		ipTarget []elbv2types.TargetDescription
	}
	nets := make([]*network, 2)
	for i := range nets {
		n := &network{ipv6: i == 0}
		n.vpc = w.AddVPC(fmt.Sprintf("10.%d.0.0/16", i), n.ipv6)
		for s := range 2 {
			n.subnets = append(n.subnets, w.AddSubnet(n.vpc, fmt.Sprintf("10.%d.%d.0/20", i, 16*s), Region+"a"))
		}
		web := w.AddSecurityGroup(n.vpc, "web", tcp(443, "0.0.0.0/0"))
		app := w.AddSecurityGroup(n.vpc, "app", tcp(22, fmt.Sprintf("10.%d.0.0/16", i)))
		n.groups = []string{web, app}
		n.instTG = w.AddTargetGroup(fmt.Sprintf("web-%d", i), elbv2types.TargetTypeEnumInstance, 80, n.vpc)
		n.ipTG = w.AddTargetGroup(fmt.Sprintf("web-ip-%d", i), elbv2types.TargetTypeEnumIp, 443, n.vpc)
		n.lbName = fmt.Sprintf("classic-%d", i)
		nets[i] = n
	}

	var asgPending []int // victims waiting to be grouped
	flushASG := func() {
		if len(asgPending) == 0 {
			return
		}
		name := fmt.Sprintf("asg-%d", asgPending[0])
		var ids []string
		for _, k := range asgPending {
			f.Victims[k].ASG = name
			ids = append(ids, f.Victims[k].InstanceID)
		}
		n := int32(len(ids))
		// Min at the member count would refuse nothing (no decrement); a
		// replacement launches per detach.
		w.AddAutoScalingGroup(awsfake.ASGSpec{Name: name, Min: n, Desired: n, Max: 2 * n, Instances: ids})
		asgPending = nil
	}

	for i := range spec.Victims {
		n := nets[i%len(nets)]
		var nics []awsfake.NICSpec
		for k := range 1 + rng.IntN(2) {
			nic := awsfake.NICSpec{Subnet: n.subnets[k], Groups: n.groups[:1+rng.IntN(2)], PrivateIPs: 1 + rng.IntN(2)}
			if n.ipv6 {
				nic.IPv6s = 1
			}
			nics = append(nics, nic)
		}
		vols := []awsfake.VolumeSpec{{DeleteOnTermination: true, Type: ec2types.VolumeTypeGp3}}
		if rng.IntN(2) == 1 {
			vols = append(vols, awsfake.VolumeSpec{SizeGiB: 50, Type: ec2types.VolumeTypeGp3})
		}
		id := w.AddInstance(awsfake.InstanceSpec{InstanceType: "m6i.large", NICs: nics, Volumes: vols, InstanceProfileARN: profile,
			Tags: map[string]string{"Name": fmt.Sprintf("worker-%d", i), "App": "web"}})
		v := Victim{InstanceID: id, FindingID: findingID(rng), VPC: n.vpc}
		inst := w.Instance(id)
		for _, ni := range inst.NetworkInterfaces {
			v.ENIs = append(v.ENIs, aws.ToString(ni.NetworkInterfaceId))
			for _, ip := range ni.PrivateIpAddresses {
				v.IPs = append(v.IPs, aws.ToString(ip.PrivateIpAddress))
			}
		}
		for _, m := range inst.BlockDeviceMappings {
			v.Volumes = append(v.Volumes, aws.ToString(m.Ebs.VolumeId))
		}
		switch p := rng.Float64(); {
		case p < 0.15:
			n.tgTarget = append(n.tgTarget, elbv2types.TargetDescription{Id: aws.String(id)})
			v.TargetGroups = append(v.TargetGroups, n.instTG)
		case p < 0.25:
			// An ip target on a port override: deregistering must name the port.
			n.ipTarget = append(n.ipTarget, elbv2types.TargetDescription{Id: aws.String(v.IPs[0]), Port: aws.Int32(8443)})
			v.TargetGroups = append(v.TargetGroups, n.ipTG)
		case p < 0.35:
			n.lbAlso = append(n.lbAlso, id)
			v.ClassicLBs = append(v.ClassicLBs, n.lbName)
		}
		f.Victims = append(f.Victims, v)
		if rng.Float64() < 0.3 {
			asgPending = append(asgPending, i)
			if len(asgPending) == 5 {
				flushASG()
			}
		}
	}
	flushASG()

	for i := range spec.Bystanders {
		n := nets[i%len(nets)]
		id := w.AddInstance(awsfake.InstanceSpec{Subnet: n.subnets[i%2], Groups: n.groups, InstanceProfileARN: profile,
			Tags: map[string]string{"Name": fmt.Sprintf("bystander-%d", i)}})
		f.Bystanders = append(f.Bystanders, id)
		n.lbAlso = append(n.lbAlso, id)
		n.tgTarget = append(n.tgTarget, elbv2types.TargetDescription{Id: aws.String(id)})
	}
	for _, n := range nets {
		w.AddClassicLoadBalancer(n.lbName, n.lbAlso...)
		if len(n.tgTarget) > 0 {
			w.RegisterTargets(n.instTG, n.tgTarget...)
		}
		if len(n.ipTarget) > 0 {
			w.RegisterTargets(n.ipTG, n.ipTarget...)
		}
	}
	f.Topic = w.AddTopic("firebreak-reports")
	f.Bucket = "firebreak-evidence-" + spec.Account
	w.AddBucket(f.Bucket)
	f.GuardTable = "firebreak-guard"
	w.AddGuardTable(f.GuardTable)
	return f
}

func tcp(port int32, cidr string) ec2types.IpPermission {
	return ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String(cidr)}}}
}

// findingID is shaped like GuardDuty's: 32 hex digits.
func findingID(rng *rand.Rand) string {
	return fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
}

// Events builds one finding event per victim from the sample C&C finding,
// with the victim's instance id and finding id; each delivery has its own
// envelope id, as EventBridge gives every delivery.
func (f *Fleet) Events() ([][]byte, error) {
	tmpl, err := events.Load(EventTemplate)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(f.Victims))
	for i, v := range f.Victims {
		if out[i], err = findingEvent(tmpl, f.World.Account(), v.InstanceID, v.FindingID, fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FindingEvent rewrites a GuardDuty finding event to name another instance
// and finding; deliveryID is the envelope id.
func FindingEvent(template []byte, instanceID, findingID, deliveryID string) ([]byte, error) {
	return findingEvent(template, "", instanceID, findingID, deliveryID)
}

// findingEvent is FindingEvent for an instance of account ("": the template's).
func findingEvent(template []byte, account, instanceID, findingID, deliveryID string) ([]byte, error) {
	var ev map[string]any
	// Numbers keep their text (severity 8.0 stays 8.0).
	dec := json.NewDecoder(bytes.NewReader(template))
	dec.UseNumber()
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("decoding the event template: %w", err)
	}
	detail, ok := ev["detail"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("rewriting the event template: no detail object")
	}
	res, _ := detail["resource"].(map[string]any)
	inst, _ := res["instanceDetails"].(map[string]any)
	if inst == nil {
		return nil, fmt.Errorf("rewriting the event template: no detail.resource.instanceDetails")
	}
	inst["instanceId"] = instanceID
	if account != "" {
		detail["accountId"] = account
	}
	detail["id"] = findingID
	detail["arn"] = fmt.Sprintf("arn:aws:guardduty:%v:%v:detector/4ac5f1e0b8c2d6a7e9f0b1c2d3e4f5a6/finding/%s", detail["region"], detail["accountId"], findingID)
	ev["id"] = deliveryID
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encoding the rewritten event: %w", err)
	}
	return b, nil
}

// Denied counts the instances whose sessions of the fleet's role the role's
// policies deny: a request signed with each one's credentials, authorized.
func (f *Fleet) Denied(ids []string) int {
	n := 0
	for _, id := range ids {
		p := awsfake.Principal{Account: f.World.Account(), Role: f.Role, Session: id,
			SourceInstanceARN: fmt.Sprintf("arn:aws:ec2:%s:%s:instance/%s", f.World.Region(), f.World.Account(), id)}
		if f.World.Authorize(p, "s3:GetObject") != nil {
			n++
		}
	}
	return n
}
