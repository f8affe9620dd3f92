package release

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/async"
	"github.com/firebreak-ir/firebreak/internal/awserr"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// attributes puts back what protect changed, to the captured values (not to
// EC2's defaults): termination protection, shutdown behaviour, and
// DeleteOnTermination per EBS mapping still holding the same volume. One
// ModifyInstanceAttribute per attribute, as EC2 takes them.
func (r *run) attributes(ctx context.Context) report.Step {
	id := aws.String(r.req.InstanceID)
	rec := r.ev.record
	type change struct {
		what string
		in   *ec2.ModifyInstanceAttributeInput
	}
	var changes []change
	var notes []string
	var readErrs []error
	if a := rec.Attributes; a == nil {
		notes = append(notes, "termination protection and shutdown behaviour were not recorded: left as they are")
	} else {
		cur, err := r.currentAttributes(ctx)
		readErrs = append(readErrs, err)
		if err == nil && a.DisableAPITermination != nil && cur.termination != aws.ToBool(a.DisableAPITermination) {
			changes = append(changes, change{fmt.Sprintf("set termination protection to %v", aws.ToBool(a.DisableAPITermination)),
				&ec2.ModifyInstanceAttributeInput{InstanceId: id, DisableApiTermination: &ec2types.AttributeBooleanValue{Value: a.DisableAPITermination}}})
		}
		if err == nil && a.ShutdownBehavior != "" && cur.shutdown != a.ShutdownBehavior {
			changes = append(changes, change{"set shutdown behaviour to " + a.ShutdownBehavior,
				&ec2.ModifyInstanceAttributeInput{InstanceId: id, InstanceInitiatedShutdownBehavior: &ec2types.AttributeValue{Value: aws.String(a.ShutdownBehavior)}}})
		}
	}
	// DeleteOnTermination is in DescribeInstances, before and now.
	live := map[string]ec2types.EbsInstanceBlockDevice{}
	for _, m := range r.inst.BlockDeviceMappings {
		if m.Ebs != nil {
			live[aws.ToString(m.DeviceName)] = *m.Ebs
		}
	}
	var mappings []ec2types.InstanceBlockDeviceMappingSpecification
	var devices []string
	for _, m := range rec.Instance.BlockDeviceMappings {
		if m.Ebs == nil {
			continue
		}
		dev := aws.ToString(m.DeviceName)
		cur, ok := live[dev]
		switch {
		case !ok || aws.ToString(cur.VolumeId) != aws.ToString(m.Ebs.VolumeId):
			notes = append(notes, fmt.Sprintf("%s no longer holds %s: its DeleteOnTermination is left as it is", dev, aws.ToString(m.Ebs.VolumeId)))
		case aws.ToBool(cur.DeleteOnTermination) != aws.ToBool(m.Ebs.DeleteOnTermination):
			mappings = append(mappings, ec2types.InstanceBlockDeviceMappingSpecification{DeviceName: m.DeviceName,
				Ebs: &ec2types.EbsInstanceBlockDeviceSpecification{DeleteOnTermination: aws.Bool(aws.ToBool(m.Ebs.DeleteOnTermination))}})
			devices = append(devices, fmt.Sprintf("%s=%v", dev, aws.ToBool(m.Ebs.DeleteOnTermination)))
		}
	}
	if len(mappings) > 0 {
		changes = append(changes, change{"set DeleteOnTermination " + strings.Join(devices, ", "),
			&ec2.ModifyInstanceAttributeInput{InstanceId: id, BlockDeviceMappings: mappings}})
	}
	errs := async.Each(changes, func(c change) error {
		c.in.DryRun = aws.Bool(r.req.DryRun)
		_, err := r.api.EC2.ModifyInstanceAttribute(ctx, c.in)
		if r.req.DryRun {
			err = awserr.DryRunOK(err)
		}
		if err != nil {
			return fmt.Errorf("%s on %s: %w", c.what, r.req.InstanceID, err)
		}
		return nil
	})
	var actions []string
	for i, c := range changes {
		if errs[i] == nil {
			actions = append(actions, r.verb(c.what))
		}
	}
	actions = append(actions, notes...)
	return r.finish(outcome{name: report.StepAttributes, changed: len(changes), err: awserr.Join(append(readErrs, errs...)), actions: actions,
		failed: "some attributes are not back to their captured values", unchanged: "the attributes already have their captured values",
		done: fmt.Sprintf("%d attributes %s to their captured values", len(changes), r.past("put back", "would be put back"))})
}

type liveAttributes struct {
	termination bool
	shutdown    string
}

func (r *run) currentAttributes(ctx context.Context) (liveAttributes, error) {
	var a liveAttributes
	names := []ec2types.InstanceAttributeName{ec2types.InstanceAttributeNameDisableApiTermination, ec2types.InstanceAttributeNameInstanceInitiatedShutdownBehavior}
	errs := async.Each(names, func(name ec2types.InstanceAttributeName) error {
		out, err := r.api.EC2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(r.req.InstanceID), Attribute: name})
		if err != nil {
			return fmt.Errorf("reading %s of %s: %w", name, r.req.InstanceID, err)
		}
		if out.DisableApiTermination != nil {
			a.termination = aws.ToBool(out.DisableApiTermination.Value)
		}
		if out.InstanceInitiatedShutdownBehavior != nil {
			a.shutdown = aws.ToString(out.InstanceInitiatedShutdownBehavior.Value)
		}
		return nil
	})
	return a, awserr.Join(errs)
}
