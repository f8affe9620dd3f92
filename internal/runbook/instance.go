package runbook

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// eni is one network interface as the runbook needs it.
type eni struct {
	ID     string
	VPC    string
	Subnet string
	Groups []string
	IPv4   []string
	IPv6   []string
	// GroupNames come with the instance description: enough to tell whether
	// the interface already sits in Firebreak's isolation group alone.
	GroupNames []string
}

// instance is the live view of the flagged instance, read once at the start.
type instance struct {
	raw   ec2types.Instance
	ID    string
	State string
	Spot  bool
	Tags  map[string]string
	ENIs  []eni
}

// contained reports whether the status tag says contained AND every interface
// sits in the isolation group alone: the tag is written beside the final swap,
// so it alone does not prove isolation.
func (i *instance) contained() bool {
	if i.Tags[contract.TagStatus] != contract.StatusContained {
		return false
	}
	for _, e := range i.ENIs {
		if !slices.Equal(e.GroupNames, []string{contract.IsolationGroupName}) {
			return false
		}
	}
	return true
}

func (i *instance) vpcs() []string {
	var out []string
	for _, e := range i.ENIs {
		if !slices.Contains(out, e.VPC) {
			out = append(out, e.VPC)
		}
	}
	return out
}

func (i *instance) subnets() []string {
	var out []string
	for _, e := range i.ENIs {
		if !slices.Contains(out, e.Subnet) {
			out = append(out, e.Subnet)
		}
	}
	return out
}

func (i *instance) addresses() (v4, v6 []string) {
	for _, e := range i.ENIs {
		v4 = append(v4, e.IPv4...)
		v6 = append(v6, e.IPv6...)
	}
	return v4, v6
}

func (i *instance) groupIDs() []string {
	var out []string
	for _, e := range i.ENIs {
		for _, g := range e.Groups {
			if !slices.Contains(out, g) {
				out = append(out, g)
			}
		}
	}
	return out
}

// describeInstance reads the live instance: the finding is only a picture from
// detection time, and the ENIs, groups and tags may have changed since.
func describeInstance(ctx context.Context, api interface {
	DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}, id string) (*instance, error) {
	out, err := api.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		return nil, fmt.Errorf("describing instance %s: %w", id, err)
	}
	for _, res := range out.Reservations {
		for _, in := range res.Instances {
			if aws.ToString(in.InstanceId) == id {
				return newInstance(in), nil
			}
		}
	}
	return nil, fmt.Errorf("describing instance %s: not in the response", id)
}

func newInstance(in ec2types.Instance) *instance {
	i := &instance{raw: in, ID: aws.ToString(in.InstanceId), Tags: map[string]string{}, Spot: in.InstanceLifecycle == ec2types.InstanceLifecycleTypeSpot}
	if in.State != nil {
		i.State = string(in.State.Name)
	}
	for _, t := range in.Tags {
		i.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	nis := slices.Clone(in.NetworkInterfaces)
	slices.SortFunc(nis, func(a, b ec2types.InstanceNetworkInterface) int {
		return int(deviceIndex(a) - deviceIndex(b))
	})
	for _, ni := range nis {
		e := eni{ID: aws.ToString(ni.NetworkInterfaceId), VPC: aws.ToString(ni.VpcId), Subnet: aws.ToString(ni.SubnetId)}
		for _, g := range ni.Groups {
			e.Groups = append(e.Groups, aws.ToString(g.GroupId))
			e.GroupNames = append(e.GroupNames, aws.ToString(g.GroupName))
		}
		for _, ip := range ni.PrivateIpAddresses {
			e.IPv4 = append(e.IPv4, aws.ToString(ip.PrivateIpAddress))
		}
		if len(e.IPv4) == 0 && ni.PrivateIpAddress != nil {
			e.IPv4 = []string{aws.ToString(ni.PrivateIpAddress)}
		}
		for _, ip := range ni.Ipv6Addresses {
			e.IPv6 = append(e.IPv6, aws.ToString(ip.Ipv6Address))
		}
		i.ENIs = append(i.ENIs, e)
	}
	return i
}

func deviceIndex(ni ec2types.InstanceNetworkInterface) int32 {
	if ni.Attachment == nil {
		return 0
	}
	return aws.ToInt32(ni.Attachment.DeviceIndex)
}
