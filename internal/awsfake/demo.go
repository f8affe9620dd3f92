package awsfake

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Demo names everything SeedDemo created, so tests and the demo can refer to it.
type Demo struct {
	VPC string
	// SubnetA holds the victim's eth0 and the bystander; SubnetB the victim's
	// eth1. Both are in the Region's "a" zone (an instance's interfaces share one)
	// and both use the VPC's default network ACL.
	SubnetA, SubnetB string
	NetworkACL       string
	DefaultGroup     string
	WebGroup         string // HTTP/HTTPS from anywhere
	AppGroup         string // 8443 from WebGroup, SSH from the VPC

	Victim             string
	VictimENIs         []string // eth0, eth1
	VictimPrimaryIP    string   // eth0's primary IPv4
	VictimIPs          []string // every IPv4 and IPv6 of every interface
	VictimVolumes      []string // root (deleted on termination), data
	InstanceProfileARN string
	// Role is the instance role victim and bystander share.
	Role string

	Bystander   string
	BystanderIP string

	ASG               string // min = desired = 1, max = 3; the victim only
	ClassicLB         string // victim and bystander
	TargetGroup       string // ARN of web-tg: instance targets on port 80
	IPTargetGroup     string // ARN of web-ip-tg: victim eth0 on 8443 (override), bystander on 443
	LambdaTargetGroup string // ARN of web-fn-tg: a Lambda target the runbook must ignore
	Topic             string
	Bucket            string
	GuardTable        string // the blast-radius guard's table
}

const demoConsole = `[    0.000000] Linux version 6.1.112-124.190.amzn2023.x86_64 (mockbuild@ip-10-0-45-12) (gcc (GCC) 11.4.1)
[    0.000000] Command line: BOOT_IMAGE=(hd0,gpt1)/boot/vmlinuz-6.1.112 root=UUID=2f1c0e2a ro console=tty0 console=ttyS0,115200n8
[    3.412201] cloud-init[1502]: Cloud-init v. 22.2.2 running 'init' at Thu, 15 Jan 2026 08:41:07 +0000.
[    5.902113] cloud-init[1502]: ci-info: |  ens5  | True | 10.0.1.10 | 255.255.255.0 | global | 02:00:00:00:00:0a |
[   11.230045] systemd[1]: Started nginx.service - The nginx HTTP and reverse proxy server.
[ 5120.441873] kauditd_printk_skb: 12 callbacks suppressed
[ 5121.002915] audit: type=1400 audit(1768467101.002:412): avc:  denied  { execmem } for  pid=30112 comm="kworkerds" scontext=system_u:system_r:unconfined_service_t
`

// SeedDemo builds the demo world around a victim instance with the given id:
// a dual-stack VPC, two subnets, web and app groups, the victim with two
// interfaces and two volumes in an Auto Scaling group, a Classic Load Balancer,
// instance, ip and Lambda target groups, a bystander sharing all of it, the
// report topic and the evidence bucket.
func (w *World) SeedDemo(victimID string) Demo {
	var d Demo
	d.VPC = w.AddVPC("10.0.0.0/16", true)
	d.SubnetA = w.AddSubnet(d.VPC, "10.0.1.0/24", w.region+"a")
	d.SubnetB = w.AddSubnet(d.VPC, "10.0.2.0/24", w.region+"a")
	d.NetworkACL = w.SubnetNetworkACL(d.SubnetA)
	d.DefaultGroup = w.DefaultSecurityGroup(d.VPC)
	d.WebGroup = w.AddSecurityGroup(d.VPC, "web",
		tcpFrom(80, "0.0.0.0/0", "::/0"), tcpFrom(443, "0.0.0.0/0", "::/0"))
	d.AppGroup = w.AddSecurityGroup(d.VPC, "app",
		types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8443), ToPort: aws.Int32(8443),
			UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(d.WebGroup), Description: aws.String("from the web tier")}}},
		tcpFrom(22, "10.0.0.0/16"))
	// Victim and bystander share one role and profile, as a fleet does: the
	// credentials step must deny the victim's sessions and not the bystander's.
	d.Role = "web-server"
	w.AddInstanceRole(d.Role, map[string]string{"App": "web"})
	w.AttachAWSManagedPolicy(d.Role, "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")
	d.InstanceProfileARN = w.AddInstanceProfile("web-server", d.Role)

	d.Victim = w.AddInstance(InstanceSpec{
		ID:           victimID,
		InstanceType: "m6i.large",
		NICs: []NICSpec{
			{Subnet: d.SubnetA, Groups: []string{d.WebGroup, d.AppGroup}, PrivateIPs: 2, IPv6s: 1},
			{Subnet: d.SubnetB, Groups: []string{d.AppGroup}},
		},
		Volumes: []VolumeSpec{
			{Device: "/dev/xvda", SizeGiB: 8, Type: types.VolumeTypeGp3, DeleteOnTermination: true, Tags: map[string]string{"Name": "web-1-root"}},
			{Device: "/dev/xvdf", SizeGiB: 100, Type: types.VolumeTypeGp3, Tags: map[string]string{"Name": "web-1-data"}},
		},
		InstanceProfileARN: d.InstanceProfileARN,
		ConsoleOutput:      demoConsole,
		Tags:               map[string]string{"Name": "web-1", "Environment": "production", "App": "web"},
	})
	victim := w.Instance(d.Victim)
	d.VictimPrimaryIP = aws.ToString(victim.PrivateIpAddress)
	for _, ni := range victim.NetworkInterfaces {
		d.VictimENIs = append(d.VictimENIs, aws.ToString(ni.NetworkInterfaceId))
		for _, ip := range ni.PrivateIpAddresses {
			d.VictimIPs = append(d.VictimIPs, aws.ToString(ip.PrivateIpAddress))
		}
		for _, ip := range ni.Ipv6Addresses {
			d.VictimIPs = append(d.VictimIPs, aws.ToString(ip.Ipv6Address))
		}
	}
	for _, bdm := range victim.BlockDeviceMappings {
		d.VictimVolumes = append(d.VictimVolumes, aws.ToString(bdm.Ebs.VolumeId))
	}

	d.Bystander = w.AddInstance(InstanceSpec{
		InstanceType: "m6i.large",
		Subnet:       d.SubnetA,
		Groups:       []string{d.WebGroup, d.AppGroup},
		Tags:         map[string]string{"Name": "web-2", "Environment": "production", "App": "web"},
	})
	d.BystanderIP = aws.ToString(w.Instance(d.Bystander).PrivateIpAddress)

	d.ClassicLB = "web-classic"
	w.AddClassicLoadBalancer(d.ClassicLB, d.Victim, d.Bystander)
	d.TargetGroup = w.AddTargetGroup("web-tg", elbv2types.TargetTypeEnumInstance, 80, d.VPC)
	w.RegisterTargets(d.TargetGroup, elbv2types.TargetDescription{Id: aws.String(d.Victim)}, elbv2types.TargetDescription{Id: aws.String(d.Bystander)})
	d.IPTargetGroup = w.AddTargetGroup("web-ip-tg", elbv2types.TargetTypeEnumIp, 443, d.VPC)
	w.RegisterTargets(d.IPTargetGroup,
		elbv2types.TargetDescription{Id: aws.String(d.VictimPrimaryIP), Port: aws.Int32(8443)},
		elbv2types.TargetDescription{Id: aws.String(d.BystanderIP)})
	d.LambdaTargetGroup = w.AddTargetGroup("web-fn-tg", elbv2types.TargetTypeEnumLambda, 0, "")
	w.RegisterTargets(d.LambdaTargetGroup, elbv2types.TargetDescription{Id: aws.String(fmt.Sprintf("arn:aws:lambda:%s:%s:function:web-fn", w.region, w.account))})

	d.ASG = "web-asg"
	w.AddAutoScalingGroup(ASGSpec{
		Name: d.ASG, Min: 1, Desired: 1, Max: 3, Instances: []string{d.Victim},
		LoadBalancers: []string{d.ClassicLB}, TargetGroups: []string{d.TargetGroup},
	})

	d.Topic = w.AddTopic("firebreak-reports")
	d.Bucket = "firebreak-evidence-" + w.account
	// Under Object Lock, so versioned (as the stack makes it).
	w.AddVersionedBucket(d.Bucket)
	d.GuardTable = "firebreak-guard"
	w.AddGuardTable(d.GuardTable)
	// Last, so the ids above stay what tests and golden files name.
	w.AssociateProfile(d.Bystander, d.InstanceProfileARN)
	return d
}

// tcpFrom allows one TCP port from IPv4 and IPv6 CIDRs.
func tcpFrom(port int32, cidrs ...string) types.IpPermission {
	p := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port)}
	for _, c := range cidrs {
		if netip.MustParsePrefix(c).Addr().Is6() {
			p.Ipv6Ranges = append(p.Ipv6Ranges, types.Ipv6Range{CidrIpv6: aws.String(c)})
		} else {
			p.IpRanges = append(p.IpRanges, types.IpRange{CidrIp: aws.String(c)})
		}
	}
	return p
}

// State renders everything a containment can change in the demo world, one
// JSON document per part, for before/after comparisons in tests. It makes no
// counted call.
func (w *World) State(d Demo) map[string]string {
	parts := map[string]any{
		"victim":            w.Instance(d.Victim),
		"victimAttributes":  w.InstanceAttributes(d.Victim),
		"bystander":         w.Instance(d.Bystander),
		"networkACL":        w.NetworkACL(d.NetworkACL),
		"subnetBNetworkACL": w.NetworkACL(w.SubnetNetworkACL(d.SubnetB)),
		"autoScalingGroup":  w.AutoScalingGroup(d.ASG),
		"classicLB":         w.ClassicLBInstances(d.ClassicLB),
		"targetGroup":       w.Targets(d.TargetGroup),
		"ipTargetGroup":     w.Targets(d.IPTargetGroup),
		"snapshots":         w.Snapshots(),
		"objects":           w.Objects(),
		"published":         w.Published(),
	}
	for _, id := range d.VictimENIs {
		parts["eni "+id] = w.NetworkInterface(id)
	}
	for _, id := range d.VictimVolumes {
		parts["volume "+id] = w.Volume(id)
	}
	w.mu.Lock()
	ids := slices.Clone(w.groups.order)
	w.mu.Unlock()
	var groups []types.SecurityGroup
	for _, id := range ids {
		groups = append(groups, w.SecurityGroup(id))
	}
	parts["securityGroups"] = groups
	out := map[string]string{}
	for k, v := range parts {
		b, err := json.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("awsfake: encoding %s: %v", k, err))
		}
		out[k] = string(b)
	}
	return out
}
