package loadtest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/notify"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

// State is what the world shows of one victim after the run.
type State struct {
	// Problems lists every way the victim is not fully contained; empty
	// means contained.
	Problems []string
	// SnapshotSets is the number of snapshots of the victim's most
	// snapshotted volume (one set gives one snapshot per volume).
	SnapshotSets int
	// Messages counts the SNS messages published about the instance.
	Messages int
}

// Contained reports whether nothing is missing.
func (s State) Contained() bool { return len(s.Problems) == 0 }

// Inspect reads the world, not the reports, to tell how far each victim
// was contained: every interface in the isolation group alone (and that
// group empty), termination protection, shutdown behaviour stop, volumes
// kept on termination, out of its Auto Scaling group and load balancers,
// snapshots, the status tag and the evidence in S3.
func (f *Fleet) Inspect() []State {
	w := f.World
	snaps := map[string]int{} // by volume
	for _, s := range w.Snapshots() {
		snaps[aws.ToString(s.VolumeId)]++
	}
	msgs := map[string]int{} // by instance
	for _, m := range f.Reports.Published() {
		if a, ok := m.Attributes[notify.AttrInstanceID]; ok {
			msgs[aws.ToString(a.StringValue)]++
		}
	}
	objects := map[string]bool{}
	for _, o := range f.Reports.Objects() {
		objects[o.Key] = true
	}
	emptyGroup := map[string]bool{}

	out := make([]State, len(f.Victims))
	for i, v := range f.Victims {
		st := &out[i]
		bad := func(format string, args ...any) { st.Problems = append(st.Problems, fmt.Sprintf(format, args...)) }
		for _, id := range v.ENIs {
			groups := w.NetworkInterface(id).Groups
			if len(groups) != 1 || aws.ToString(groups[0].GroupName) != contract.IsolationGroupName {
				bad("interface %s not isolated", id)
				continue
			}
			g := aws.ToString(groups[0].GroupId)
			if _, seen := emptyGroup[g]; !seen {
				emptyGroup[g] = len(w.SecurityGroupRules(g)) == 0
			}
			if !emptyGroup[g] {
				bad("isolation group %s has rules", g)
			}
		}
		attrs := w.InstanceAttributes(v.InstanceID)
		if !attrs.DisableAPITermination || attrs.ShutdownBehavior != ec2types.ShutdownBehaviorStop {
			bad("not protected")
		}
		inst := w.Instance(v.InstanceID)
		for _, m := range inst.BlockDeviceMappings {
			if m.Ebs != nil && aws.ToBool(m.Ebs.DeleteOnTermination) {
				bad("volume %s deleted on termination", aws.ToString(m.Ebs.VolumeId))
			}
		}
		if tagValue(inst.Tags, contract.TagStatus) != contract.StatusContained {
			bad("status tag %q", tagValue(inst.Tags, contract.TagStatus))
		}
		if v.ASG != "" {
			for _, m := range w.AutoScalingGroup(v.ASG).Instances {
				if aws.ToString(m.InstanceId) == v.InstanceID {
					bad("still in %s", v.ASG)
				}
			}
		}
		for _, lb := range v.ClassicLBs {
			if slices.Contains(w.ClassicLBInstances(lb), v.InstanceID) {
				bad("still behind %s", lb)
			}
		}
		for _, tg := range v.TargetGroups {
			for _, t := range w.Targets(tg) {
				id := aws.ToString(t.Target.Id)
				if (id == v.InstanceID || slices.Contains(v.IPs, id)) && t.TargetHealth.State != elbv2types.TargetHealthStateEnumDraining {
					bad("still a target of %s", tg)
				}
			}
		}
		for _, vol := range v.Volumes {
			st.SnapshotSets = max(st.SnapshotSets, snaps[vol])
			if snaps[vol] == 0 {
				bad("volume %s not snapshotted", vol)
			}
		}
		if !objects[runbook.EvidenceKey(w.Account(), Region, v.InstanceID, v.FindingID, "capture.json")] {
			bad("no evidence in S3")
		}
		st.Messages = msgs[v.InstanceID]
	}
	return out
}

// BystandersTouched lists bystanders that lost their own groups or were tagged.
func (f *Fleet) BystandersTouched() []string {
	var out []string
	for _, id := range f.Bystanders {
		if f.touched(id) {
			out = append(out, id)
		}
	}
	return out
}

// touched reports any mark of containment on an instance: a status tag, an
// interface in one of Firebreak's groups, termination protection, a snapshot.
func (f *Fleet) touched(id string) bool {
	inst := f.World.Instance(id)
	if tagValue(inst.Tags, contract.TagStatus) != "" || f.World.InstanceAttributes(id).DisableAPITermination {
		return true
	}
	for _, ni := range inst.NetworkInterfaces {
		for _, g := range ni.Groups {
			if n := aws.ToString(g.GroupName); n == contract.IsolationGroupName || n == contract.AllTrafficGroupName {
				return true
			}
		}
	}
	for _, s := range f.World.Snapshots() {
		for _, t := range s.Tags {
			if aws.ToString(t.Key) == contract.TagInstanceID && aws.ToString(t.Value) == id {
				return true
			}
		}
	}
	return false
}

// Held lists the victims the guard held back, from the world: nothing of the
// instance touched, and a notification published about it.
func (f *Fleet) Held() []string {
	notified := map[string]bool{}
	for _, m := range f.World.Published() {
		if a, ok := m.Attributes[notify.AttrDecision]; ok && aws.ToString(a.StringValue) == string(report.Notify) {
			notified[aws.ToString(m.Attributes[notify.AttrInstanceID].StringValue)] = true
		}
	}
	var out []string
	for _, v := range f.Victims {
		if !f.touched(v.InstanceID) && notified[v.InstanceID] {
			out = append(out, v.InstanceID)
		}
	}
	return out
}

// Tokens counts the live guard tokens in the world's table, and how many
// distinct instances hold them.
func (f *Fleet) Tokens(now time.Time) (tokens, instances int) {
	holders := map[string]bool{}
	for _, it := range f.World.Items(f.GuardTable) {
		pk, _ := it[contract.GuardPartitionKey].(*ddbtypes.AttributeValueMemberS)
		exp, _ := it[contract.GuardTTLAttribute].(*ddbtypes.AttributeValueMemberN)
		inst, _ := it["instance"].(*ddbtypes.AttributeValueMemberS)
		if pk == nil || !strings.HasPrefix(pk.Value, "slots#") || exp == nil || inst == nil {
			continue
		}
		if sec, err := strconv.ParseInt(exp.Value, 10, 64); err == nil && sec > now.Unix() {
			tokens++
			holders[inst.Value] = true
		}
	}
	return tokens, len(holders)
}

func tagValue(tags []ec2types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}
