package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/finding"
	"github.com/firebreak-ir/firebreak/internal/handler"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// benchLatency is the fixed latency of every AWS call; round trips are
// measured as elapsed time over it.
const benchLatency = 50 * time.Millisecond

// BenchmarkContain runs the whole handler on the demo event against the
// in-memory AWS, where every call takes benchLatency, and reports sequential
// round trips until every interface is isolated (rtt-to-isolation), until the
// report is out (rtt-total), and AWS calls per containment (aws-calls). "Bigger" victims show the round trips do
// not grow with interfaces, volumes and target groups.
func BenchmarkContain(b *testing.B) {
	for _, size := range []struct {
		name               string
		extraENIs, volumes int
		extraTargetGroups  int
	}{
		{"demo", 0, 0, 0},
		{"4eni-6vol-40tg", 2, 4, 40},
	} {
		for _, groups := range []string{"created", "exist-cold", "exist-warm"} {
			b.Run(size.name+"/groups-"+groups, func(b *testing.B) {
				benchContain(b, groups, size.extraENIs, size.volumes, size.extraTargetGroups)
			})
		}
	}
}

func benchContain(b *testing.B, groups string, extraENIs, extraVolumes, extraTGs int) {
	raw := events.Must(events.Default)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var isoRTT, totalRTT, calls float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w, d := World(raw)
		if extraENIs+extraVolumes+extraTGs > 0 {
			w, d = bigWorld(raw, extraENIs, extraVolumes, extraTGs)
		}
		cfg, err := Config(d, func(string) string { return "" })
		if err != nil {
			b.Fatal(err)
		}
		h := handler.New(cfg, awsfake.Factory{W: w}, log, handler.WithClock(w.Now))
		if groups != "created" {
			// A first containment (of the bystander) leaves the groups in the
			// world, and in this handler's cache for the warm case.
			manual := fmt.Appendf(nil, `{"instanceId":%q,"reason":"bench warm-up","dryRun":false}`, d.Bystander)
			if groups == "exist-cold" {
				warm := handler.New(cfg, awsfake.Factory{W: w}, log, handler.WithClock(w.Now))
				mustContain(b, warm, manual)
			} else {
				mustContain(b, h, manual)
			}
		}
		w.ResetCalls()
		var mu sync.Mutex
		var starts []time.Duration
		var lastSwap time.Duration
		var start time.Time
		w.OnCall(func(op string) {
			mu.Lock()
			defer mu.Unlock()
			at := time.Since(start)
			starts = append(starts, at)
			if op == "ModifyNetworkInterfaceAttribute" {
				lastSwap = at
			}
		})
		w.SetLatency(benchLatency)
		b.StartTimer()

		start = time.Now()
		mustContain(b, h, raw)

		b.StopTimer()
		w.SetLatency(0)
		w.OnCall(nil)
		// A call's round trip is the latency period it starts in; CPU time
		// between calls shifts starts by a fraction of a period, never by half.
		mu.Lock()
		isoRTT += float64(round(lastSwap) + 1)
		var last int
		for _, at := range starts {
			last = max(last, round(at))
		}
		totalRTT += float64(last + 1)
		mu.Unlock()
		for _, n := range w.Calls() {
			calls += float64(n)
		}
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(isoRTT/n, "rtt-to-isolation")
	b.ReportMetric(totalRTT/n, "rtt-total")
	b.ReportMetric(calls/n, "aws-calls")
}

func round(at time.Duration) int { return int(float64(at)/float64(benchLatency) + 0.5) }

func mustContain(b *testing.B, h *handler.Handler, raw []byte) {
	reps, err := h.Handle(context.Background(), raw)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range reps {
		for _, s := range r.Steps {
			if s.Status == report.Failed {
				b.Fatalf("%s failed: %s %s", s.Name, s.Error, s.Message)
			}
		}
	}
}

// bigWorld is the demo world around a bigger victim: more interfaces (each
// with two IPv4 and one IPv6 address), more volumes, and more ip target groups.
func bigWorld(raw []byte, extraENIs, extraVolumes, extraTGs int) (*awsfake.World, awsfake.Demo) {
	in, err := finding.Parse(raw)
	if err != nil {
		panic(err)
	}
	w := awsfake.New(Account, Region)
	d := w.SeedDemo("i-00000000000000de0") // the demo's own victim becomes a second bystander
	seedSecurityHub(w, raw)
	nics := []awsfake.NICSpec{{Subnet: d.SubnetA, Groups: []string{d.WebGroup, d.AppGroup}, PrivateIPs: 2, IPv6s: 1}}
	for i := 0; i < 1+extraENIs; i++ {
		nics = append(nics, awsfake.NICSpec{Subnet: []string{d.SubnetA, d.SubnetB}[i%2], Groups: []string{d.AppGroup}, PrivateIPs: 2, IPv6s: 1})
	}
	vols := []awsfake.VolumeSpec{{DeleteOnTermination: true}}
	for i := 0; i < 1+extraVolumes; i++ {
		vols = append(vols, awsfake.VolumeSpec{SizeGiB: 50})
	}
	d.Victim = w.AddInstance(awsfake.InstanceSpec{ID: in.InstanceID(), NICs: nics, Volumes: vols})
	d.VictimIPs = nil
	for _, ni := range w.Instance(d.Victim).NetworkInterfaces {
		for _, ip := range ni.PrivateIpAddresses {
			d.VictimIPs = append(d.VictimIPs, aws.ToString(ip.PrivateIpAddress))
		}
	}
	d.ASG = "big-asg"
	w.AddAutoScalingGroup(awsfake.ASGSpec{Name: d.ASG, Min: 1, Desired: 1, Max: 2, Instances: []string{d.Victim}, TargetGroups: []string{d.TargetGroup}})
	w.RegisterTargets(d.TargetGroup, elbv2types.TargetDescription{Id: aws.String(d.Victim)})
	for i := 0; i < extraTGs; i++ {
		tg := w.AddTargetGroup(fmt.Sprintf("extra-%d", i), elbv2types.TargetTypeEnumIp, 443, d.VPC)
		w.RegisterTargets(tg, elbv2types.TargetDescription{Id: aws.String(d.VictimIPs[i%len(d.VictimIPs)]), Port: aws.Int32(int32(9000 + i))})
	}
	return w, d
}

// BenchmarkRepeat re-delivers the finding of a contained instance (GuardDuty's
// re-publication, warm environment) and reports what the verification costs
// per event: AWS calls (repeat-calls-per-event), sequential round trips
// (repeat-rtt-per-event) and writes (repeat-writes-per-event) in the account
// it protects; repeat-rtt-with-ledger adds Firebreak's own table (the guard). "drifted" adds
// a rule to the isolation group first: the repair's cost.
func BenchmarkRepeat(b *testing.B) {
	for _, drift := range []bool{false, true} {
		name := "holds"
		if drift {
			name = "drifted"
		}
		b.Run(name, func(b *testing.B) { benchRepeat(b, drift) })
	}
}

func benchRepeat(b *testing.B, drift bool) {
	raw, again := events.Must(events.Default), events.Must("guardduty-backdoor-c2-update.json")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var rtt, ledgerRTT, calls, writes float64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w, d := World(raw)
		cfg, err := Config(d, func(string) string { return "" })
		if err != nil {
			b.Fatal(err)
		}
		h := handler.New(cfg, awsfake.Factory{W: w}, log, handler.WithClock(w.Now))
		mustContain(b, h, raw)
		if drift {
			addRule(b, w, d)
		}
		w.ResetCalls()
		var mu sync.Mutex
		var last, withLedger int
		var start time.Time
		w.OnCall(func(op string) {
			mu.Lock()
			defer mu.Unlock()
			at := round(time.Since(start))
			withLedger = max(withLedger, at)
			if !isLedger(op) {
				last = max(last, at)
			}
		})
		w.SetLatency(benchLatency)
		b.StartTimer()

		start = time.Now()
		reps, err := h.Handle(context.Background(), again)

		b.StopTimer()
		w.SetLatency(0)
		w.OnCall(nil)
		if err != nil || len(reps) != 1 || !reps[0].AlreadyContained || (len(reps[0].Drift) > 0) != drift {
			b.Fatalf("re-delivery: %v, %+v", err, reps)
		}
		mu.Lock()
		rtt += float64(last + 1)
		ledgerRTT += float64(withLedger + 1)
		mu.Unlock()
		for op, n := range w.Calls() {
			if isLedger(op) {
				continue
			}
			calls += float64(n)
			if !strings.HasPrefix(op, "Describe") && !strings.HasPrefix(op, "Get") && !strings.HasPrefix(op, "List") {
				writes += float64(n)
			}
		}
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(calls/n, "repeat-calls-per-event")
	b.ReportMetric(rtt/n, "repeat-rtt-per-event")
	b.ReportMetric(writes/n, "repeat-writes-per-event")
	b.ReportMetric(ledgerRTT/n, "repeat-rtt-with-ledger")
}

// isLedger tells Firebreak's own table's calls (the record of reports), which
// are not calls on the account it protects.
func isLedger(op string) bool {
	return slices.Contains([]string{"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"}, op)
}

func addRule(b *testing.B, w *awsfake.World, d awsfake.Demo) {
	api := w.Clients().EC2
	out, err := api.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{d.VPC}}, {Name: aws.String("group-name"), Values: []string{contract.IsolationGroupName}}}})
	if err != nil || len(out.SecurityGroups) != 1 {
		b.Fatalf("isolation group: %v", err)
	}
	if _, err := api.AuthorizeSecurityGroupIngress(context.Background(), &ec2.AuthorizeSecurityGroupIngressInput{GroupId: out.SecurityGroups[0].GroupId,
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}); err != nil {
		b.Fatal(err)
	}
}
