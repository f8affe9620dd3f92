package loadtest

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/awsclient"
)

// maxSweeps bounds the sweep invocations a scenario makes before it gives up.
const maxSweeps = 50

// Sweep contains victims, changes the containment of drifted of them behind
// Firebreak's back (every other one: an interface given back the VPC's
// default group, or termination protection turned off), then sweeps with
// EC2's token buckets on and a share of every service's requests throttled,
// invocation after invocation until no cursor is left. It reports the calls
// per verified instance and whether every drifted instance was repaired.
func Sweep(ctx context.Context, o Options, victims, drifted int, throttle float64) (Result, error) {
	b, err := startContained(ctx, o, victims, "the sweep")
	if err != nil {
		return Result{}, err
	}
	defer b.close()
	w := b.fleet.World
	changed := map[string]bool{}
	for i := range min(drifted, len(b.fleet.Victims)) {
		v := b.fleet.Victims[i*len(b.fleet.Victims)/max(1, drifted)]
		changed[v.InstanceID] = true
		if i%2 == 1 {
			_, err = w.Clients().EC2.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(v.InstanceID),
				DisableApiTermination: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)}})
		} else {
			var out *ec2.DescribeSecurityGroupsOutput
			out, err = w.Clients().EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
				{Name: aws.String("vpc-id"), Values: []string{v.VPC}}, {Name: aws.String("group-name"), Values: []string{"default"}}}})
			if err == nil && len(out.SecurityGroups) == 1 {
				_, err = w.Clients().EC2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{
					NetworkInterfaceId: aws.String(v.ENIs[0]), Groups: []string{aws.ToString(out.SecurityGroups[0].GroupId)}})
			}
		}
		if err != nil {
			return Result{}, fmt.Errorf("changing %s behind Firebreak's back: %w", v.InstanceID, err)
		}
	}
	if broken := len(b.fleet.Victims) - int(fraction(b.fleet.Inspect())*float64(len(b.fleet.Victims))+0.5); broken != len(changed) {
		return Result{}, fmt.Errorf("preparing the sweep: %d victims no longer contained, want %d", broken, len(changed))
	}

	b.sim.ResetStats()
	b.sim.SetTokenBuckets(o.TimeScale)
	b.sim.SetThrottleRate("*", throttle)
	l := b.lambda(1, awsclient.DefaultRetryMode)
	defer l.Close()
	var verified, invocations, failedChecks int
	repaired := map[string]bool{}
	for invocations < maxSweeps {
		run := l.InvokeAll(ctx, [][]byte{[]byte(`{"sweep": true}`)})
		invocations++
		inv := run.Invocations[0]
		if len(inv.Reports) == 0 || inv.Reports[0].Sweep == nil {
			return Result{}, fmt.Errorf("sweep %d answered no summary: %v", invocations, inv.Err)
		}
		verified += inv.Reports[0].Sweep.Verified
		for _, rep := range inv.Reports[1:] {
			if len(rep.Drift) > 0 && len(rep.Failed()) == 0 {
				repaired[rep.InstanceID] = true
			}
			failedChecks += len(rep.Failed())
		}
		if !inv.Reports[0].Sweep.Continues {
			break
		}
	}
	b.sim.SetThrottleRate("*", 0)
	st := b.sim.Stats()
	calls, writes := 0, map[string]int{}
	for k, op := range st {
		if strings.HasPrefix(k, "dynamodb:") {
			continue
		}
		calls += op.Calls
		if !isRead(k) {
			writes[k] += op.Calls
		}
	}
	var wrongly []string
	for id := range repaired {
		if !changed[id] {
			wrongly = append(wrongly, id)
		}
	}
	after := b.fleet.Inspect()
	var r Result
	r.add("sweep-verified", "%d of %d contained (%d invocations)", verified, len(b.fleet.Victims), invocations)
	r.add("sweep-calls-per-verified-instance", "%.3f (attempts %.3f per call, %.3f of requests throttled)", float64(calls)/float64(max(1, verified)),
		attemptsPerCall(st), float64(st.Total().Throttled)/float64(max(1, st.Total().Attempts)))
	r.add("sweep-drifted-repaired", "%d of %d (reported for an instance that had not drifted: %d)", len(repaired), len(changed), len(wrongly))
	r.add("sweep-contained-after", "%.3f", fraction(after))
	r.add("sweep-writes", "%s", joinCounts(writes))
	r.add("sweep-failed-checks", "%d", failedChecks)
	r.add("sweep-calls-by-op", "%s", perOp(st, "", max(1, verified)))
	return r, nil
}
