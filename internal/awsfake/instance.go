package awsfake

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// EC2 is the fake Amazon EC2 API (awsapi.EC2).
type EC2 struct{ w *World }

type instance struct {
	id, reservationID  string
	imageID, itype     string
	az                 string
	state              types.InstanceStateName
	spot               bool
	spotRequestID      string
	enis               []string // by device index
	volumes            []string // attached EBS volumes, root first when the root is EBS
	rootDevice         string
	rootDeviceType     types.DeviceType
	profile            *profileAssoc
	metadata           metadataOptions
	associations       int // profile associations made by AssociateIamInstanceProfile
	disableTermination bool
	disableStop        bool
	shutdownBehavior   types.ShutdownBehavior
	ebsOptimized       bool
	console            string
	launched           time.Time
	tags               tags
}

type profileAssoc struct{ assocID, arn, id string }

// InstanceSpec describes an instance to seed. Zero values get AWS-like defaults.
type InstanceSpec struct {
	ID           string // "" generates one
	InstanceType string // default t3.micro
	ImageID      string // default ami-0c02fb55956c7d316
	State        types.InstanceStateName
	Spot         bool
	// InstanceStoreRoot makes the root device instance-store (no root volume).
	InstanceStoreRoot bool
	// Subnet and Groups describe the only network interface when NICs is empty.
	Subnet string
	Groups []string
	NICs   []NICSpec // device index is the position
	// Volumes default to one 8 GiB gp3 root volume deleted on termination.
	Volumes            []VolumeSpec
	InstanceProfileARN string
	ConsoleOutput      string
	Tags               map[string]string
}

// NICSpec describes one network interface of a seeded instance.
type NICSpec struct {
	Subnet     string
	Groups     []string // default: the VPC's default group
	PrivateIPs int      // IPv4 addresses, the first primary; default 1
	IPv6s      int
	// ManagedBy marks the interface requester-managed by that service
	// (e.g. "ecs.amazonaws.com"): the owner may not change it.
	ManagedBy     string
	InterfaceType types.NetworkInterfaceType // default "interface"
}

// VolumeSpec describes one EBS volume attached to a seeded instance.
type VolumeSpec struct {
	Device              string // default /dev/xvda for an EBS root, then /dev/xvdf, /dev/xvdg, ...
	SizeGiB             int32  // default 8
	Type                types.VolumeType
	DeleteOnTermination bool
	Encrypted           bool
	Tags                map[string]string
}

var stateCodes = map[types.InstanceStateName]int32{
	types.InstanceStateNamePending:      0,
	types.InstanceStateNameRunning:      16,
	types.InstanceStateNameShuttingDown: 32,
	types.InstanceStateNameTerminated:   48,
	types.InstanceStateNameStopping:     64,
	types.InstanceStateNameStopped:      80,
}

// AddInstance seeds an instance with its interfaces and volumes and returns its id.
func (w *World) AddInstance(spec InstanceSpec) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.launch(spec)
}

func (w *World) launch(spec InstanceSpec) string {
	id := spec.ID
	switch {
	case id == "":
		id = w.newID("i")
	case !wellFormed("i", id):
		panic(fmt.Sprintf("awsfake: malformed instance id %q", id))
	case w.instances.has(id):
		panic(fmt.Sprintf("awsfake: instance %s already exists", id))
	}
	nics := spec.NICs
	if len(nics) == 0 {
		nics = []NICSpec{{Subnet: spec.Subnet, Groups: spec.Groups}}
	}
	first := w.mustSubnet(nics[0].Subnet)
	in := &instance{
		id:               id,
		reservationID:    w.newID("r"),
		imageID:          cmp.Or(spec.ImageID, "ami-0c02fb55956c7d316"),
		itype:            cmp.Or(spec.InstanceType, "t3.micro"),
		az:               first.az,
		state:            spec.State,
		spot:             spec.Spot,
		shutdownBehavior: types.ShutdownBehaviorStop,
		console:          spec.ConsoleOutput,
		launched:         w.nowLocked(),
		tags:             tagsFrom(spec.Tags),
		rootDeviceType:   types.DeviceTypeEbs,
		rootDevice:       "/dev/xvda",
		metadata:         defaultMetadata,
	}
	if in.state == "" {
		in.state = types.InstanceStateNameRunning
	}
	if spec.Spot {
		in.spotRequestID = fmt.Sprintf("sir-%08x", w.seq)
		in.shutdownBehavior = types.ShutdownBehaviorTerminate
	}
	if spec.InstanceStoreRoot {
		in.rootDeviceType, in.rootDevice = types.DeviceTypeInstanceStore, "/dev/sda1"
	}
	for i, n := range nics {
		in.enis = append(in.enis, w.newENI(in, int32(i), n).id)
	}
	vols := spec.Volumes
	if len(vols) == 0 && !spec.InstanceStoreRoot {
		vols = []VolumeSpec{{DeleteOnTermination: true}}
	}
	next := 'f'
	for i, vs := range vols {
		dev := vs.Device
		if dev == "" {
			if i == 0 && !spec.InstanceStoreRoot {
				dev = in.rootDevice
			} else {
				dev = "/dev/xvd" + string(next)
				next++
			}
		}
		in.volumes = append(in.volumes, w.newVolume(in, dev, vs).id)
	}
	if spec.InstanceProfileARN != "" {
		in.profile = &profileAssoc{
			assocID: w.newID("iip-assoc"),
			arn:     spec.InstanceProfileARN,
			id:      fmt.Sprintf("AIPA%017X", w.seq),
		}
		if p, ok := w.profiles.get(spec.InstanceProfileARN); ok {
			in.profile.id = p.id
		}
	}
	w.instances.put(in.id, in)
	return in.id
}

// SetInstanceState moves an instance to a state (e.g. terminated) for tests.
func (w *World) SetInstanceState(id string, state types.InstanceStateName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	in, ok := w.instances.get(id)
	if !ok {
		panic(fmt.Sprintf("awsfake: no instance %q", id))
	}
	in.state = state
}

// Instance returns a copy of an instance as DescribeInstances shows it (the
// zero value when there is none).
func (w *World) Instance(id string) types.Instance {
	w.mu.Lock()
	defer w.mu.Unlock()
	if in, ok := w.instances.get(id); ok {
		return w.renderInstance(in)
	}
	return types.Instance{}
}

// InstanceAttributes are the attributes DescribeInstances does not show.
type InstanceAttributes struct {
	DisableAPITermination bool
	DisableAPIStop        bool
	ShutdownBehavior      types.ShutdownBehavior
}

// InstanceAttributes returns an instance's protection attributes.
func (w *World) InstanceAttributes(id string) InstanceAttributes {
	w.mu.Lock()
	defer w.mu.Unlock()
	in, ok := w.instances.get(id)
	if !ok {
		return InstanceAttributes{}
	}
	return InstanceAttributes{DisableAPITermination: in.disableTermination, DisableAPIStop: in.disableStop, ShutdownBehavior: in.shutdownBehavior}
}

func (w *World) renderInstance(in *instance) types.Instance {
	out := types.Instance{
		AmiLaunchIndex:     aws.Int32(0),
		Architecture:       types.ArchitectureValuesX8664,
		EbsOptimized:       aws.Bool(in.ebsOptimized),
		EnaSupport:         aws.Bool(true),
		Hypervisor:         types.HypervisorTypeXen,
		ImageId:            aws.String(in.imageID),
		InstanceId:         aws.String(in.id),
		InstanceType:       types.InstanceType(in.itype),
		LaunchTime:         aws.Time(in.launched),
		Monitoring:         &types.Monitoring{State: types.MonitoringStateDisabled},
		Placement:          &types.Placement{AvailabilityZone: aws.String(in.az), GroupName: aws.String(""), Tenancy: types.TenancyDefault},
		PlatformDetails:    aws.String("Linux/UNIX"),
		RootDeviceName:     aws.String(in.rootDevice),
		RootDeviceType:     in.rootDeviceType,
		State:              &types.InstanceState{Code: aws.Int32(stateCodes[in.state]), Name: in.state},
		Tags:               in.tags.sdk(),
		UsageOperation:     aws.String("RunInstances"),
		VirtualizationType: types.VirtualizationTypeHvm,
	}
	if in.spot {
		out.InstanceLifecycle = types.InstanceLifecycleTypeSpot
		out.SpotInstanceRequestId = aws.String(in.spotRequestID)
	}
	if in.profile != nil {
		out.IamInstanceProfile = &types.IamInstanceProfile{Arn: aws.String(in.profile.arn), Id: aws.String(in.profile.id)}
	}
	out.MetadataOptions = in.metadata.sdk()
	// A terminated instance has let go of its interfaces and volumes.
	if in.state == types.InstanceStateNameTerminated {
		out.PrivateDnsName, out.PublicDnsName = aws.String(""), aws.String("")
		return out
	}
	// The instance's groups are those of all its interfaces, eth0's first.
	for _, id := range in.enis {
		e := w.enis.m[id]
		ni := w.renderInstanceENI(e)
		out.NetworkInterfaces = append(out.NetworkInterfaces, ni)
		for _, g := range ni.Groups {
			if !slices.ContainsFunc(out.SecurityGroups, func(x types.GroupIdentifier) bool { return *x.GroupId == *g.GroupId }) {
				out.SecurityGroups = append(out.SecurityGroups, types.GroupIdentifier{GroupId: g.GroupId, GroupName: g.GroupName})
			}
		}
	}
	if len(in.enis) > 0 {
		eth0 := w.enis.m[in.enis[0]]
		out.PrivateIpAddress = aws.String(eth0.privateIPs[0])
		out.PrivateDnsName = aws.String(w.privateDNS(eth0.privateIPs[0]))
		out.PublicDnsName = aws.String("")
		out.SubnetId = aws.String(eth0.subnetID)
		out.VpcId = aws.String(eth0.vpcID)
		out.SourceDestCheck = aws.Bool(eth0.sourceDestCheck)
		if len(eth0.ipv6) > 0 {
			out.Ipv6Address = aws.String(eth0.ipv6[0])
		}
	}
	for _, id := range in.volumes {
		v := w.volumes.m[id]
		out.BlockDeviceMappings = append(out.BlockDeviceMappings, types.InstanceBlockDeviceMapping{
			DeviceName: aws.String(v.device),
			Ebs: &types.EbsInstanceBlockDevice{
				AttachTime:          aws.Time(v.attached),
				DeleteOnTermination: aws.Bool(v.deleteOnTermination),
				Status:              types.AttachmentStatusAttached,
				VolumeId:            aws.String(v.id),
			},
		})
	}
	return out
}

// lookupInstance validates an instance id and finds the instance.
func (w *World) lookupInstance(id *string) (*instance, error) {
	if id == nil || *id == "" {
		return nil, errMissing("instanceId")
	}
	if !wellFormed("i", *id) {
		return nil, errInstanceMalformed(*id)
	}
	in, ok := w.instances.get(*id)
	if !ok {
		return nil, errInstanceNotFound(*id)
	}
	return in, nil
}

// DescribeInstances lists instances, each in its own reservation.
func (c *EC2) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	return call(ctx, c.w, svcEC2, "DescribeInstances", in, c.w.describeInstances)
}

func (w *World) describeInstances(in *ec2.DescribeInstancesInput) (*ec2.DescribeInstancesOutput, error) {
	if err := checkFilters(in.Filters, "instance-id", "instance-state-name", "instance-state-code", "vpc-id", "subnet-id",
		"instance-type", "image-id", "availability-zone", "instance-lifecycle", "iam-instance-profile.arn",
		"private-ip-address", "network-interface.network-interface-id", "network-interface.addresses.private-ip-address",
		"network-interface.ipv6-addresses.ipv6-address", "network-interface.subnet-id", "network-interface.vpc-id",
		"instance.group-id", "instance.group-name", "block-device-mapping.volume-id"); err != nil {
		return nil, err
	}
	var missing []string
	for _, id := range in.InstanceIds {
		if !wellFormed("i", id) {
			return nil, errInstanceMalformed(id)
		}
		if !w.instances.has(id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, errInstanceNotFound(missing...)
	}
	if aws.ToBool(in.DryRun) {
		return nil, errDryRun()
	}
	var found []types.Reservation
	for _, inst := range w.instances.all() {
		if len(in.InstanceIds) > 0 && !slices.Contains(in.InstanceIds, inst.id) {
			continue
		}
		if !matchFilters(in.Filters, inst.tags, inst.field(w)) {
			continue
		}
		r := w.renderInstance(inst)
		found = append(found, types.Reservation{
			ReservationId: aws.String(inst.reservationID),
			OwnerId:       aws.String(w.account),
			Groups:        []types.GroupIdentifier{},
			Instances:     []types.Instance{r},
		})
	}
	out, next, err := ec2Page(found, in.MaxResults, in.NextToken, 5, 1000, len(in.InstanceIds) > 0, "instancesSet")
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeInstancesOutput{Reservations: out, NextToken: next}, nil
}

func (in *instance) field(w *World) func(string) []string {
	return func(name string) []string {
		var out []string
		switch name {
		case "instance-id":
			return []string{in.id}
		case "instance-state-name":
			return []string{string(in.state)}
		case "instance-state-code":
			return []string{fmt.Sprint(stateCodes[in.state])}
		case "instance-type":
			return []string{in.itype}
		case "image-id":
			return []string{in.imageID}
		case "availability-zone":
			return []string{in.az}
		case "instance-lifecycle":
			if in.spot {
				return []string{"spot"}
			}
			return nil
		case "iam-instance-profile.arn":
			if in.profile != nil {
				return []string{in.profile.arn}
			}
			return nil
		case "block-device-mapping.volume-id":
			return slices.Clone(in.volumes)
		}
		if in.state == types.InstanceStateNameTerminated {
			return nil
		}
		for i, id := range in.enis {
			e := w.enis.m[id]
			switch name {
			case "vpc-id", "network-interface.vpc-id":
				if i == 0 || name == "network-interface.vpc-id" {
					out = append(out, e.vpcID)
				}
			case "subnet-id", "network-interface.subnet-id":
				if i == 0 || name == "network-interface.subnet-id" {
					out = append(out, e.subnetID)
				}
			case "private-ip-address":
				if i == 0 {
					out = append(out, e.privateIPs[0])
				}
			case "network-interface.network-interface-id":
				out = append(out, e.id)
			case "network-interface.addresses.private-ip-address":
				out = append(out, e.privateIPs...)
			case "network-interface.ipv6-addresses.ipv6-address":
				out = append(out, e.ipv6...)
			case "instance.group-id":
				out = append(out, e.groups...)
			case "instance.group-name":
				for _, g := range e.groups {
					out = append(out, w.groups.m[g].name)
				}
			}
		}
		return out
	}
}

// ModifyInstanceAttribute changes exactly one attribute of an instance.
func (c *EC2) ModifyInstanceAttribute(ctx context.Context, in *ec2.ModifyInstanceAttributeInput, _ ...func(*ec2.Options)) (*ec2.ModifyInstanceAttributeOutput, error) {
	return call(ctx, c.w, svcEC2, "ModifyInstanceAttribute", in, c.w.modifyInstanceAttribute)
}

func (w *World) modifyInstanceAttribute(in *ec2.ModifyInstanceAttributeInput) (*ec2.ModifyInstanceAttributeOutput, error) {
	inst, err := w.lookupInstance(in.InstanceId)
	if err != nil {
		return nil, err
	}
	attr, err := oneAttribute(map[string]bool{
		"attribute":                         in.Attribute != "" || in.Value != nil,
		"blockDeviceMapping":                len(in.BlockDeviceMappings) > 0,
		"disableApiStop":                    in.DisableApiStop != nil,
		"disableApiTermination":             in.DisableApiTermination != nil,
		"ebsOptimized":                      in.EbsOptimized != nil,
		"enaSupport":                        in.EnaSupport != nil,
		"enclaveOptions":                    in.EnclaveOptions != nil,
		"groupSet":                          len(in.Groups) > 0,
		"instanceInitiatedShutdownBehavior": in.InstanceInitiatedShutdownBehavior != nil,
		"instanceType":                      in.InstanceType != nil,
		"kernel":                            in.Kernel != nil,
		"ramdisk":                           in.Ramdisk != nil,
		"sourceDestCheck":                   in.SourceDestCheck != nil,
		"sriovNetSupport":                   in.SriovNetSupport != nil,
		"userData":                          in.UserData != nil,
	})
	if err != nil {
		return nil, err
	}
	if inst.state == types.InstanceStateNameTerminated || inst.state == types.InstanceStateNameShuttingDown {
		return nil, apiError("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be modified.", inst.id)
	}
	apply, err := w.planInstanceChange(inst, attr, in)
	if err != nil {
		return nil, err
	}
	if aws.ToBool(in.DryRun) {
		return nil, errDryRun()
	}
	apply()
	return &ec2.ModifyInstanceAttributeOutput{}, nil
}

// planInstanceChange validates one attribute change and returns the mutation,
// so that a dry run can stop between the two.
func (w *World) planInstanceChange(inst *instance, attr string, in *ec2.ModifyInstanceAttributeInput) (func(), error) {
	// The old form names the attribute and passes the value as a string.
	if attr == "attribute" {
		v := aws.ToString(in.Value)
		switch in.Attribute {
		case types.InstanceAttributeNameDisableApiTermination:
			attr, in = "disableApiTermination", &ec2.ModifyInstanceAttributeInput{DisableApiTermination: &types.AttributeBooleanValue{Value: aws.Bool(v == "true")}}
		case types.InstanceAttributeNameDisableApiStop:
			attr, in = "disableApiStop", &ec2.ModifyInstanceAttributeInput{DisableApiStop: &types.AttributeBooleanValue{Value: aws.Bool(v == "true")}}
		case types.InstanceAttributeNameInstanceInitiatedShutdownBehavior:
			attr, in = "instanceInitiatedShutdownBehavior", &ec2.ModifyInstanceAttributeInput{InstanceInitiatedShutdownBehavior: &types.AttributeValue{Value: aws.String(v)}}
		case types.InstanceAttributeNameSourceDestCheck:
			attr, in = "sourceDestCheck", &ec2.ModifyInstanceAttributeInput{SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(v == "true")}}
		default:
			return nil, apiError("InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Unknown attribute.", in.Attribute)
		}
	}
	switch attr {
	case "disableApiTermination":
		on := aws.ToBool(in.DisableApiTermination.Value)
		if on && inst.spot {
			return nil, apiError("UnsupportedOperation", "The instance '%s' is a Spot Instance. Termination protection is not supported for Spot Instances.", inst.id)
		}
		return func() { inst.disableTermination = on }, nil
	case "disableApiStop":
		on := aws.ToBool(in.DisableApiStop.Value)
		if on && inst.spot {
			return nil, apiError("UnsupportedOperation", "The instance '%s' is a Spot Instance. Stop protection is not supported for Spot Instances.", inst.id)
		}
		if on && inst.rootDeviceType == types.DeviceTypeInstanceStore {
			return nil, apiError("UnsupportedOperation", "Stop protection is not supported for instance store-backed instances.")
		}
		return func() { inst.disableStop = on }, nil
	case "instanceInitiatedShutdownBehavior":
		v := types.ShutdownBehavior(aws.ToString(in.InstanceInitiatedShutdownBehavior.Value))
		if v != types.ShutdownBehaviorStop && v != types.ShutdownBehaviorTerminate {
			return nil, apiError("InvalidParameterValue", "Value (%s) for parameter instanceInitiatedShutdownBehavior is invalid. Valid values are stop and terminate.", v)
		}
		return func() { inst.shutdownBehavior = v }, nil
	case "blockDeviceMapping":
		var changes []func()
		for _, m := range in.BlockDeviceMappings {
			dev := aws.ToString(m.DeviceName)
			i := slices.IndexFunc(inst.volumes, func(id string) bool { return w.volumes.m[id].device == dev })
			if i < 0 {
				return nil, apiError("InvalidInstanceAttributeValue", "No device is currently mapped at %s", dev)
			}
			if m.Ebs == nil || m.Ebs.DeleteOnTermination == nil {
				continue
			}
			v, dot := w.volumes.m[inst.volumes[i]], *m.Ebs.DeleteOnTermination
			changes = append(changes, func() { v.deleteOnTermination = dot })
		}
		return func() {
			for _, f := range changes {
				f()
			}
		}, nil
	case "groupSet":
		if len(inst.enis) > 1 {
			return nil, apiError("InvalidInstanceID",
				"There are multiple interfaces attached to instance '%s'. Please specify an interface ID for the operation instead.", inst.id)
		}
		e := w.enis.m[inst.enis[0]]
		groups, err := w.checkENIGroups(e, in.Groups)
		if err != nil {
			return nil, err
		}
		return func() { e.groups = groups }, nil
	case "sourceDestCheck":
		if len(inst.enis) > 1 {
			return nil, apiError("InvalidInstanceID",
				"There are multiple interfaces attached to instance '%s'. Please specify an interface ID for the operation instead.", inst.id)
		}
		e, on := w.enis.m[inst.enis[0]], aws.ToBool(in.SourceDestCheck.Value)
		return func() { e.sourceDestCheck = on }, nil
	case "ebsOptimized":
		if inst.state != types.InstanceStateNameStopped {
			return nil, errNotStopped(inst.id)
		}
		on := aws.ToBool(in.EbsOptimized.Value)
		return func() { inst.ebsOptimized = on }, nil
	case "instanceType":
		if inst.state != types.InstanceStateNameStopped {
			return nil, errNotStopped(inst.id)
		}
		t := aws.ToString(in.InstanceType.Value)
		return func() { inst.itype = t }, nil
	default:
		// The rest (kernel, ramdisk, user data, ENA, SR-IOV, enclaves) need a
		// stopped instance and change nothing this model shows.
		if inst.state != types.InstanceStateNameStopped {
			return nil, errNotStopped(inst.id)
		}
		return func() {}, nil
	}
}

func errNotStopped(id string) error {
	return apiError("IncorrectInstanceState", "The instance '%s' is not in the 'stopped' state.", id)
}

// DescribeIamInstanceProfileAssociations lists instance profile associations.
func (c *EC2) DescribeIamInstanceProfileAssociations(ctx context.Context, in *ec2.DescribeIamInstanceProfileAssociationsInput, _ ...func(*ec2.Options)) (*ec2.DescribeIamInstanceProfileAssociationsOutput, error) {
	return call(ctx, c.w, svcEC2, "DescribeIamInstanceProfileAssociations", in, c.w.describeProfileAssociations)
}

func (w *World) describeProfileAssociations(in *ec2.DescribeIamInstanceProfileAssociationsInput) (*ec2.DescribeIamInstanceProfileAssociationsOutput, error) {
	if err := checkFilters(in.Filters, "instance-id", "state"); err != nil {
		return nil, err
	}
	var found []types.IamInstanceProfileAssociation
	seen := map[string]bool{}
	for _, inst := range w.instances.all() {
		p := inst.profile
		if p == nil || inst.state == types.InstanceStateNameTerminated {
			continue
		}
		seen[p.assocID] = true
		if len(in.AssociationIds) > 0 && !slices.Contains(in.AssociationIds, p.assocID) {
			continue
		}
		field := func(name string) []string {
			if name == "instance-id" {
				return []string{inst.id}
			}
			return []string{string(types.IamInstanceProfileAssociationStateAssociated)}
		}
		if !matchFilters(in.Filters, nil, field) {
			continue
		}
		found = append(found, types.IamInstanceProfileAssociation{
			AssociationId:      aws.String(p.assocID),
			InstanceId:         aws.String(inst.id),
			IamInstanceProfile: &types.IamInstanceProfile{Arn: aws.String(p.arn), Id: aws.String(p.id)},
			State:              types.IamInstanceProfileAssociationStateAssociated,
			Timestamp:          aws.Time(inst.launched),
		})
	}
	for _, id := range in.AssociationIds {
		if !seen[id] {
			return nil, apiError("InvalidAssociationID.NotFound", "The association ID '%s' does not exist", id)
		}
	}
	out, next, err := ec2Page(found, in.MaxResults, in.NextToken, 5, 1000, len(in.AssociationIds) > 0, "associationIds")
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeIamInstanceProfileAssociationsOutput{IamInstanceProfileAssociations: out, NextToken: next}, nil
}

// GetConsoleOutput returns the instance's console output, base64-encoded.
func (c *EC2) GetConsoleOutput(ctx context.Context, in *ec2.GetConsoleOutputInput, _ ...func(*ec2.Options)) (*ec2.GetConsoleOutputOutput, error) {
	return call(ctx, c.w, svcEC2, "GetConsoleOutput", in, c.w.getConsoleOutput)
}

// consoleLimit is how much console output EC2 keeps: the last 64 KiB.
const consoleLimit = 64 << 10

func (w *World) getConsoleOutput(in *ec2.GetConsoleOutputInput) (*ec2.GetConsoleOutputOutput, error) {
	inst, err := w.lookupInstance(in.InstanceId)
	if err != nil {
		return nil, err
	}
	if aws.ToBool(in.DryRun) {
		return nil, errDryRun()
	}
	out := &ec2.GetConsoleOutputOutput{InstanceId: aws.String(inst.id), Timestamp: aws.Time(w.nowLocked())}
	if text := inst.console; text != "" {
		if len(text) > consoleLimit {
			text = text[len(text)-consoleLimit:]
		}
		out.Output = aws.String(base64.StdEncoding.EncodeToString([]byte(text)))
	}
	return out, nil
}
