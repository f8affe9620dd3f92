package release

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/awserr"
	"github.com/firebreak-ir/firebreak/internal/contract"
)

// releasable are the statuses a containment leaves: release undoes any of
// them, and converges on one already released.
var releasable = map[string]bool{
	contract.StatusContained:            true,
	contract.StatusPartial:              true,
	contract.StatusCredentialsContained: true,
	contract.StatusIsolationFailed:      true,
	contract.StatusReleased:             true,
}

// describe reads the live instance and says why it cannot be released, if
// it cannot; retry is set when the reason is one a retry can fix.
func (r *run) describe(ctx context.Context) (why string, retry bool) {
	id := r.req.InstanceID
	out, err := r.api.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		if awserr.Is(err, "InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed") {
			return fmt.Sprintf("instance %s was not found in account %s, Region %s", id, r.req.AccountID, r.req.Region), false
		}
		return fmt.Sprintf("could not read instance %s (%s): %v", id, awserr.Code(err), err), awserr.Transient(awserr.Code(err))
	}
	found := false
	for _, res := range out.Reservations {
		for _, in := range res.Instances {
			if aws.ToString(in.InstanceId) == id {
				r.inst, found = in, true
			}
		}
	}
	if !found {
		return fmt.Sprintf("instance %s is not in the DescribeInstances answer", id), true
	}
	r.tags = map[string]string{}
	for _, t := range r.inst.Tags {
		r.tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	status := r.tags[contract.TagStatus]
	switch {
	case r.tags[contract.TagExempt] == "true":
		return fmt.Sprintf("the instance carries %s=true: Firebreak never changes it; release it by hand", contract.TagExempt), false
	case status == "":
		return fmt.Sprintf("the instance was never contained by Firebreak (no %s tag): there is nothing to release", contract.TagStatus), false
	case !releasable[status]:
		return fmt.Sprintf("%s is %q, which is not a containment Firebreak can undo", contract.TagStatus, status), false
	}
	if r.inst.State != nil && (r.inst.State.Name == ec2types.InstanceStateNameTerminated || r.inst.State.Name == ec2types.InstanceStateNameShuttingDown) {
		return fmt.Sprintf("the instance is %s: nothing left to release (its snapshots and evidence are kept)", r.inst.State.Name), false
	}
	return "", false
}

// liveENI is an interface attached to the instance now.
type liveENI struct {
	groups, names []string
}

func (r *run) liveENIs() map[string]liveENI {
	out := map[string]liveENI{}
	for _, ni := range r.inst.NetworkInterfaces {
		var e liveENI
		for _, g := range ni.Groups {
			e.groups = append(e.groups, aws.ToString(g.GroupId))
			e.names = append(e.names, aws.ToString(g.GroupName))
		}
		out[aws.ToString(ni.NetworkInterfaceId)] = e
	}
	return out
}
