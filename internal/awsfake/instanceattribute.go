package awsfake

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// SetInstanceAttributes sets an instance's protection attributes as its owner
// would have before any containment (seeding, not an API).
func (w *World) SetInstanceAttributes(id string, a InstanceAttributes) {
	w.mu.Lock()
	defer w.mu.Unlock()
	in, ok := w.instances.get(id)
	if !ok {
		panic("awsfake: no instance " + id)
	}
	in.disableTermination, in.disableStop = a.DisableAPITermination, a.DisableAPIStop
	if a.ShutdownBehavior != "" {
		in.shutdownBehavior = a.ShutdownBehavior
	}
}

// DescribeInstanceAttribute reads one attribute of an instance: AWS answers
// one per call, with the others left out.
func (c *EC2) DescribeInstanceAttribute(ctx context.Context, in *ec2.DescribeInstanceAttributeInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstanceAttributeOutput, error) {
	return call(ctx, c.w, svcEC2, "DescribeInstanceAttribute", in, c.w.describeInstanceAttribute)
}

func (w *World) describeInstanceAttribute(in *ec2.DescribeInstanceAttributeInput) (*ec2.DescribeInstanceAttributeOutput, error) {
	inst, err := w.lookupInstance(in.InstanceId)
	if err != nil {
		return nil, err
	}
	if in.Attribute == "" {
		return nil, errMissing("attribute")
	}
	out := &ec2.DescribeInstanceAttributeOutput{InstanceId: aws.String(inst.id)}
	boolean := func(v bool) *types.AttributeBooleanValue { return &types.AttributeBooleanValue{Value: aws.Bool(v)} }
	switch in.Attribute {
	case types.InstanceAttributeNameDisableApiTermination:
		out.DisableApiTermination = boolean(inst.disableTermination)
	case types.InstanceAttributeNameDisableApiStop:
		out.DisableApiStop = boolean(inst.disableStop)
	case types.InstanceAttributeNameInstanceInitiatedShutdownBehavior:
		out.InstanceInitiatedShutdownBehavior = &types.AttributeValue{Value: aws.String(string(inst.shutdownBehavior))}
	case types.InstanceAttributeNameInstanceType:
		out.InstanceType = &types.AttributeValue{Value: aws.String(inst.itype)}
	case types.InstanceAttributeNameEbsOptimized:
		out.EbsOptimized = boolean(inst.ebsOptimized)
	case types.InstanceAttributeNameRootDeviceName:
		out.RootDeviceName = &types.AttributeValue{Value: aws.String(inst.rootDevice)}
	case types.InstanceAttributeNameBlockDeviceMapping:
		out.BlockDeviceMappings = w.renderInstance(inst).BlockDeviceMappings
	case types.InstanceAttributeNameGroupSet:
		if len(inst.enis) > 0 {
			out.Groups = w.groupIdentifiers(w.enis.m[inst.enis[0]].groups)
		}
	case types.InstanceAttributeNameSourceDestCheck:
		if len(inst.enis) > 0 {
			out.SourceDestCheck = boolean(w.enis.m[inst.enis[0]].sourceDestCheck)
		}
	case types.InstanceAttributeNameEnaSupport:
		out.EnaSupport = boolean(true)
	case types.InstanceAttributeNameKernel, types.InstanceAttributeNameRamdisk, types.InstanceAttributeNameUserData,
		types.InstanceAttributeNameProductCodes, types.InstanceAttributeNameSriovNetSupport,
		types.InstanceAttributeNameEnclaveOptions:
		// Known attributes this model keeps no value for: AWS leaves them empty when unset.
	default:
		return nil, apiError("InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Unknown attribute.", in.Attribute)
	}
	if aws.ToBool(in.DryRun) {
		return nil, errDryRun()
	}
	return out, nil
}
