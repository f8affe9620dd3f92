package awsfake

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

type eni struct {
	id, subnetID, vpcID, az string
	description             string
	interfaceType           types.NetworkInterfaceType
	managedBy               string
	groups                  []string
	privateIPs              []string // the first is primary
	ipv6                    []string
	mac                     string
	instanceID              string
	attachmentID            string
	deviceIndex             int32
	deleteOnTermination     bool
	attached                time.Time
	sourceDestCheck         bool
	conntrack               *types.ConnectionTrackingConfiguration
	tags                    tags
}

func (w *World) newENI(in *instance, index int32, spec NICSpec) *eni {
	s := w.mustSubnet(spec.Subnet)
	if s.az != in.az {
		panic(fmt.Sprintf("awsfake: %s is in %s but instance %s is in %s", s.id, s.az, in.id, in.az))
	}
	groups := spec.Groups
	if len(groups) == 0 {
		groups = []string{w.vpcs.m[s.vpcID].defaultGroup}
	}
	for _, g := range groups {
		if grp, ok := w.groups.get(g); !ok || grp.vpcID != s.vpcID {
			panic(fmt.Sprintf("awsfake: group %q is not in %s", g, s.vpcID))
		}
	}
	e := &eni{
		id:                  w.newID("eni"),
		subnetID:            s.id,
		vpcID:               s.vpcID,
		az:                  s.az,
		interfaceType:       cmp.Or(spec.InterfaceType, types.NetworkInterfaceTypeInterface),
		managedBy:           spec.ManagedBy,
		groups:              slices.Clone(groups),
		instanceID:          in.id,
		attachmentID:        w.newID("eni-attach"),
		deviceIndex:         index,
		deleteOnTermination: index == 0,
		attached:            w.nowLocked(),
		sourceDestCheck:     true,
		tags:                tags{},
	}
	e.mac = fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", byte(w.seq>>32), byte(w.seq>>24), byte(w.seq>>16), byte(w.seq>>8), byte(w.seq))
	for range max(spec.PrivateIPs, 1) {
		e.privateIPs = append(e.privateIPs, s.allocIPv4())
	}
	for range spec.IPv6s {
		e.ipv6 = append(e.ipv6, s.allocIPv6())
	}
	if spec.ManagedBy != "" {
		e.description = "Interface managed by " + spec.ManagedBy
	}
	w.enis.put(e.id, e)
	return e
}

// MarkRequesterManaged makes an existing interface requester-managed by a
// service (e.g. "ecs.amazonaws.com"), so its owner may no longer change it.
func (w *World) MarkRequesterManaged(eniID, principal string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.enis.get(eniID)
	if !ok {
		panic(fmt.Sprintf("awsfake: no network interface %q", eniID))
	}
	e.managedBy = principal
}

func (w *World) groupIdentifiers(ids []string) []types.GroupIdentifier {
	out := make([]types.GroupIdentifier, 0, len(ids))
	for _, id := range ids {
		out = append(out, types.GroupIdentifier{GroupId: aws.String(id), GroupName: aws.String(w.groups.m[id].name)})
	}
	return out
}

func (e *eni) conntrackCopy() *types.ConnectionTrackingConfiguration {
	if e.conntrack == nil {
		return nil
	}
	c := *e.conntrack
	return &types.ConnectionTrackingConfiguration{TcpEstablishedTimeout: aws.Int32(aws.ToInt32(c.TcpEstablishedTimeout)),
		UdpStreamTimeout: aws.Int32(aws.ToInt32(c.UdpStreamTimeout)), UdpTimeout: aws.Int32(aws.ToInt32(c.UdpTimeout))}
}

// renderInstanceENI is the interface as DescribeInstances nests it. It has no
// RequesterManaged field; a managed interface shows an Operator instead.
func (w *World) renderInstanceENI(e *eni) types.InstanceNetworkInterface {
	out := types.InstanceNetworkInterface{
		Attachment: &types.InstanceNetworkInterfaceAttachment{
			AttachTime:          aws.Time(e.attached),
			AttachmentId:        aws.String(e.attachmentID),
			DeleteOnTermination: aws.Bool(e.deleteOnTermination),
			DeviceIndex:         aws.Int32(e.deviceIndex),
			NetworkCardIndex:    aws.Int32(0),
			Status:              types.AttachmentStatusAttached,
		},
		Description:        aws.String(e.description),
		Groups:             w.groupIdentifiers(e.groups),
		InterfaceType:      aws.String(string(e.interfaceType)),
		MacAddress:         aws.String(e.mac),
		NetworkInterfaceId: aws.String(e.id),
		OwnerId:            aws.String(w.account),
		PrivateDnsName:     aws.String(w.privateDNS(e.privateIPs[0])),
		PrivateIpAddress:   aws.String(e.privateIPs[0]),
		SourceDestCheck:    aws.Bool(e.sourceDestCheck),
		Status:             types.NetworkInterfaceStatusInUse,
		SubnetId:           aws.String(e.subnetID),
		VpcId:              aws.String(e.vpcID),
		Ipv6Addresses:      []types.InstanceIpv6Address{},
	}
	if c := e.conntrackCopy(); c != nil {
		out.ConnectionTrackingConfiguration = &types.ConnectionTrackingSpecificationResponse{
			TcpEstablishedTimeout: c.TcpEstablishedTimeout, UdpStreamTimeout: c.UdpStreamTimeout, UdpTimeout: c.UdpTimeout,
		}
	}
	if e.managedBy != "" {
		out.Operator = &types.OperatorResponse{Managed: aws.Bool(true), Principal: aws.String(e.managedBy)}
	}
	for i, ip := range e.privateIPs {
		out.PrivateIpAddresses = append(out.PrivateIpAddresses, types.InstancePrivateIpAddress{
			Primary: aws.Bool(i == 0), PrivateIpAddress: aws.String(ip), PrivateDnsName: aws.String(w.privateDNS(ip)),
		})
	}
	for _, ip := range e.ipv6 {
		out.Ipv6Addresses = append(out.Ipv6Addresses, types.InstanceIpv6Address{Ipv6Address: aws.String(ip), IsPrimaryIpv6: aws.Bool(false)})
	}
	return out
}

// NetworkInterface returns a copy of an interface as DescribeNetworkInterfaces
// would show it, RequesterManaged included (the zero value when there is none).
func (w *World) NetworkInterface(id string) types.NetworkInterface {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.enis.get(id)
	if !ok {
		return types.NetworkInterface{}
	}
	return w.renderENI(e)
}

func (w *World) renderENI(e *eni) types.NetworkInterface {
	out := types.NetworkInterface{
		Attachment: &types.NetworkInterfaceAttachment{
			AttachTime:          aws.Time(e.attached),
			AttachmentId:        aws.String(e.attachmentID),
			DeleteOnTermination: aws.Bool(e.deleteOnTermination),
			DeviceIndex:         aws.Int32(e.deviceIndex),
			InstanceId:          aws.String(e.instanceID),
			InstanceOwnerId:     aws.String(w.account),
			NetworkCardIndex:    aws.Int32(0),
			Status:              types.AttachmentStatusAttached,
		},
		AvailabilityZone:                aws.String(e.az),
		ConnectionTrackingConfiguration: e.conntrackCopy(),
		Description:                     aws.String(e.description),
		Groups:                          w.groupIdentifiers(e.groups),
		InterfaceType:                   e.interfaceType,
		MacAddress:                      aws.String(e.mac),
		NetworkInterfaceId:              aws.String(e.id),
		OwnerId:                         aws.String(w.account),
		PrivateDnsName:                  aws.String(w.privateDNS(e.privateIPs[0])),
		PrivateIpAddress:                aws.String(e.privateIPs[0]),
		RequesterManaged:                aws.Bool(e.managedBy != ""),
		SourceDestCheck:                 aws.Bool(e.sourceDestCheck),
		Status:                          types.NetworkInterfaceStatusInUse,
		SubnetId:                        aws.String(e.subnetID),
		TagSet:                          e.tags.sdk(),
		VpcId:                           aws.String(e.vpcID),
	}
	if e.managedBy != "" {
		out.RequesterId = aws.String(e.managedBy)
		out.Operator = &types.OperatorResponse{Managed: aws.Bool(true), Principal: aws.String(e.managedBy)}
	}
	for i, ip := range e.privateIPs {
		out.PrivateIpAddresses = append(out.PrivateIpAddresses, types.NetworkInterfacePrivateIpAddress{
			Primary: aws.Bool(i == 0), PrivateIpAddress: aws.String(ip), PrivateDnsName: aws.String(w.privateDNS(ip)),
		})
	}
	for _, ip := range e.ipv6 {
		out.Ipv6Addresses = append(out.Ipv6Addresses, types.NetworkInterfaceIpv6Address{Ipv6Address: aws.String(ip), IsPrimaryIpv6: aws.Bool(false)})
	}
	return out
}

// checkENIGroups validates a replacement group set for an interface: at most
// five, each existing and in the interface's VPC.
func (w *World) checkENIGroups(e *eni, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, errMissing("groupId")
	}
	var out []string
	for _, id := range ids {
		if !wellFormed("sg", id) {
			return nil, errGroupMalformed(id)
		}
		g, ok := w.groups.get(id)
		if !ok {
			return nil, errGroupNotFound(id)
		}
		if g.vpcID != e.vpcID {
			// The wording AWS uses when a group and an interface sit in different VPCs.
			return nil, apiError("InvalidGroup.NotFound", "You have specified two resources that belong to different networks.")
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if len(out) > maxGroupsPerENI {
		return nil, apiError("SecurityGroupsPerInterfaceLimitExceeded", "The maximum number of security groups per interface has been reached.")
	}
	return out, nil
}

// ModifyNetworkInterfaceAttribute changes exactly one attribute of an interface.
func (c *EC2) ModifyNetworkInterfaceAttribute(ctx context.Context, in *ec2.ModifyNetworkInterfaceAttributeInput, _ ...func(*ec2.Options)) (*ec2.ModifyNetworkInterfaceAttributeOutput, error) {
	return call(ctx, c.w, svcEC2, "ModifyNetworkInterfaceAttribute", in, c.w.modifyNetworkInterfaceAttribute)
}

func (w *World) modifyNetworkInterfaceAttribute(in *ec2.ModifyNetworkInterfaceAttributeInput) (*ec2.ModifyNetworkInterfaceAttributeOutput, error) {
	id := aws.ToString(in.NetworkInterfaceId)
	if id == "" {
		return nil, errMissing("networkInterfaceId")
	}
	if !wellFormed("eni", id) {
		return nil, errENIMalformed(id)
	}
	e, ok := w.enis.get(id)
	if !ok {
		return nil, errENINotFound(id)
	}
	attr, err := oneAttribute(map[string]bool{
		"groupSet":                        len(in.Groups) > 0,
		"connectionTrackingSpecification": in.ConnectionTrackingSpecification != nil,
		"sourceDestCheck":                 in.SourceDestCheck != nil,
		"description":                     in.Description != nil,
		"attachment":                      in.Attachment != nil,
		"associatePublicIpAddress":        in.AssociatePublicIpAddress != nil,
		"enaSrdSpecification":             in.EnaSrdSpecification != nil,
		"enablePrimaryIpv6":               in.EnablePrimaryIpv6 != nil,
		"associatedSubnetIds":             len(in.AssociatedSubnetIds) > 0,
	})
	if err != nil {
		return nil, err
	}
	// A requester-managed interface belongs to the service that made it; its
	// owner gets the plain authorization failure (as reported for ECS-managed ENIs).
	if e.managedBy != "" {
		return nil, apiError("UnauthorizedOperation", "You are not authorized to perform this operation.")
	}
	var apply func()
	switch attr {
	case "groupSet":
		groups, err := w.checkENIGroups(e, in.Groups)
		if err != nil {
			return nil, err
		}
		apply = func() { e.groups = groups }
	case "connectionTrackingSpecification":
		c := in.ConnectionTrackingSpecification
		for _, r := range []struct {
			name   string
			v      *int32
			lo, hi int32
		}{
			{"TcpEstablishedTimeout", c.TcpEstablishedTimeout, 60, 432000},
			{"UdpStreamTimeout", c.UdpStreamTimeout, 60, 180},
			{"UdpTimeout", c.UdpTimeout, 30, 60},
		} {
			if r.v != nil && (*r.v < r.lo || *r.v > r.hi) {
				return nil, apiError("InvalidParameterValue", "Invalid value '%d' for %s. It must be between %d and %d.", *r.v, r.name, r.lo, r.hi)
			}
		}
		apply = func() {
			// Defaults as EC2 reports them until changed.
			ct := e.conntrackCopy()
			if ct == nil {
				ct = &types.ConnectionTrackingConfiguration{TcpEstablishedTimeout: aws.Int32(432000), UdpStreamTimeout: aws.Int32(180), UdpTimeout: aws.Int32(30)}
			}
			if c.TcpEstablishedTimeout != nil {
				ct.TcpEstablishedTimeout = aws.Int32(*c.TcpEstablishedTimeout)
			}
			if c.UdpStreamTimeout != nil {
				ct.UdpStreamTimeout = aws.Int32(*c.UdpStreamTimeout)
			}
			if c.UdpTimeout != nil {
				ct.UdpTimeout = aws.Int32(*c.UdpTimeout)
			}
			e.conntrack = ct
		}
	case "sourceDestCheck":
		on := aws.ToBool(in.SourceDestCheck.Value)
		apply = func() { e.sourceDestCheck = on }
	case "description":
		d := aws.ToString(in.Description.Value)
		apply = func() { e.description = d }
	case "attachment":
		if aws.ToString(in.Attachment.AttachmentId) != e.attachmentID {
			return nil, apiError("InvalidAttachmentID.NotFound", "The attachment ID '%s' does not exist", aws.ToString(in.Attachment.AttachmentId))
		}
		dot := in.Attachment.DeleteOnTermination
		apply = func() {
			if dot != nil {
				e.deleteOnTermination = *dot
			}
		}
	default:
		apply = func() {} // accepted; nothing this model shows changes
	}
	if aws.ToBool(in.DryRun) {
		return nil, errDryRun()
	}
	apply()
	return &ec2.ModifyNetworkInterfaceAttributeOutput{}, nil
}
