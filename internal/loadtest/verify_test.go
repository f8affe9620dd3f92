package loadtest

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/config"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/handler"
)

// containInProcess runs the handler straight on the in-memory AWS (no
// HTTP): what is under test here is Inspect, not the wire.
func containInProcess(t *testing.T, f *Fleet, victims ...int) {
	t.Helper()
	env := map[string]string{contract.EnvTopicARN: f.Topic, contract.EnvEvidenceBucket: f.Bucket, contract.EnvGuardTable: f.GuardTable}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	h := handler.New(cfg, awsfake.Factory{W: f.World}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	evs, err := f.Events()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range victims {
		if _, err := h.Handle(context.Background(), evs[i]); err != nil {
			t.Fatalf("containing victim %d: %v", i, err)
		}
	}
}

func TestInspect(t *testing.T) {
	f := NewFleet(FleetSpec{Victims: 12, Bystanders: 2, Seed: 5})
	// A victim in an Auto Scaling group and one with two interfaces, so the
	// undoing below has something to undo.
	inASG := slices.IndexFunc(f.Victims, func(v Victim) bool { return v.ASG != "" })
	twoENIs := slices.IndexFunc(f.Victims, func(v Victim) bool { return len(v.ENIs) == 2 && v.ASG == "" })
	untouched := slices.IndexFunc(f.Victims, func(v Victim) bool { return v.ASG != "" && len(v.ClassicLBs)+len(v.TargetGroups) == 0 })
	for _, i := range []int{inASG, twoENIs} {
		if i < 0 {
			t.Fatal("the seed gives no victim of the kind this test needs")
		}
	}
	containInProcess(t, f, inASG, twoENIs)

	states := f.Inspect()
	for _, i := range []int{inASG, twoENIs} {
		if !states[i].Contained() || states[i].SnapshotSets != 1 || states[i].Messages != 1 {
			t.Errorf("victim %d after containment: %+v, want contained, one snapshot set, one message", i, states[i])
		}
	}
	if untouched >= 0 && untouched != inASG {
		want := []string{"not isolated", "not protected", "deleted on termination", `status tag ""`, "still in asg-", "not snapshotted", "no evidence in S3"}
		for _, w := range want {
			if !slices.ContainsFunc(states[untouched].Problems, func(p string) bool { return strings.Contains(p, w) }) {
				t.Errorf("untouched victim: problems %q lack %q", states[untouched].Problems, w)
			}
		}
	}
	if got := f.BystandersTouched(); len(got) != 0 {
		t.Errorf("bystanders touched: %v", got)
	}

	// Undo part of a containment and take a second snapshot set behind
	// the runbook's back: Inspect must see both.
	ec2api := f.World.Clients().EC2
	ctx := context.Background()
	v := f.Victims[twoENIs]
	if _, err := ec2api.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{
		NetworkInterfaceId: aws.String(v.ENIs[1]), Groups: []string{f.World.DefaultSecurityGroup(v.VPC)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ec2api.CreateSnapshots(ctx, &ec2.CreateSnapshotsInput{InstanceSpecification: &ec2types.InstanceSpecification{InstanceId: aws.String(v.InstanceID)}}); err != nil {
		t.Fatal(err)
	}
	st := f.Inspect()[twoENIs]
	if st.Contained() || !slices.Equal(st.Problems, []string{"interface " + v.ENIs[1] + " not isolated"}) {
		t.Errorf("after moving %s back: problems %q, want that interface alone", v.ENIs[1], st.Problems)
	}
	if st.SnapshotSets != 2 {
		t.Errorf("snapshot sets = %d after a second CreateSnapshots, want 2", st.SnapshotSets)
	}
}
