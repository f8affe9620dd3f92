package awsfake

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// RemoveNetworkInterface detaches an interface from its instance and deletes
// it, as an owner would (detach, then delete): the instance no longer lists it.
func (w *World) RemoveNetworkInterface(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.enis.get(id)
	if !ok {
		panic(fmt.Sprintf("awsfake: no network interface %q", id))
	}
	if in, ok := w.instances.get(e.instanceID); ok {
		in.enis = slices.DeleteFunc(in.enis, func(x string) bool { return x == id })
	}
	delete(w.enis.m, id)
	w.enis.order = slices.DeleteFunc(w.enis.order, func(x string) bool { return x == id })
}

// DescribeNetworkInterfaces lists interfaces by id and filters.
func (c *EC2) DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	return call(ctx, c.w, svcEC2, "DescribeNetworkInterfaces", in, c.w.describeNetworkInterfaces)
}

func (w *World) describeNetworkInterfaces(in *ec2.DescribeNetworkInterfacesInput) (*ec2.DescribeNetworkInterfacesOutput, error) {
	if err := checkFilters(in.Filters, "network-interface-id", "group-id", "group-name", "vpc-id", "subnet-id",
		"availability-zone", "attachment.instance-id", "attachment.device-index", "status", "interface-type",
		"private-ip-address", "addresses.private-ip-address", "ipv6-addresses.ipv6-address", "requester-managed",
		"owner-id", "description", "mac-address"); err != nil {
		return nil, err
	}
	for _, id := range in.NetworkInterfaceIds {
		if !wellFormed("eni", id) {
			return nil, errENIMalformed(id)
		}
		if !w.enis.has(id) {
			return nil, errENINotFound(id)
		}
	}
	if aws.ToBool(in.DryRun) {
		return nil, errDryRun()
	}
	var found []types.NetworkInterface
	for _, e := range w.enis.all() {
		if len(in.NetworkInterfaceIds) > 0 && !slices.Contains(in.NetworkInterfaceIds, e.id) {
			continue
		}
		if matchFilters(in.Filters, e.tags, e.field(w)) {
			found = append(found, w.renderENI(e))
		}
	}
	out, next, err := ec2Page(found, in.MaxResults, in.NextToken, 5, 1000, len(in.NetworkInterfaceIds) > 0, "networkInterfaceIds")
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeNetworkInterfacesOutput{NetworkInterfaces: out, NextToken: next}, nil
}

func (e *eni) field(w *World) func(string) []string {
	return func(name string) []string {
		switch name {
		case "network-interface-id":
			return []string{e.id}
		case "group-id":
			return slices.Clone(e.groups)
		case "group-name":
			var out []string
			for _, g := range e.groups {
				out = append(out, w.groups.m[g].name)
			}
			return out
		case "vpc-id":
			return []string{e.vpcID}
		case "subnet-id":
			return []string{e.subnetID}
		case "availability-zone":
			return []string{e.az}
		case "attachment.instance-id":
			return []string{e.instanceID}
		case "attachment.device-index":
			return []string{fmt.Sprint(e.deviceIndex)}
		case "status":
			return []string{string(types.NetworkInterfaceStatusInUse)}
		case "interface-type":
			return []string{string(e.interfaceType)}
		case "private-ip-address":
			return e.privateIPs[:1]
		case "addresses.private-ip-address":
			return slices.Clone(e.privateIPs)
		case "ipv6-addresses.ipv6-address":
			return slices.Clone(e.ipv6)
		case "requester-managed":
			return boolValue(e.managedBy != "")
		case "owner-id":
			return []string{w.account}
		case "description":
			return []string{e.description}
		case "mac-address":
			return []string{e.mac}
		}
		return nil
	}
}
