package runbook

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/report"
)

// protect keeps the evidence from being destroyed: termination protection,
// shutdown behaviour "stop", and EBS volumes that outlive the instance.
// ModifyInstanceAttribute takes one attribute per call, so each is its own call.
func (r *run) protect(ctx context.Context, f *facts) report.Step {
	type change struct {
		what string
		in   *ec2.ModifyInstanceAttributeInput
	}
	id := aws.String(r.inst.ID)
	var changes []change
	var notes []string
	instanceStore := r.inst.raw.RootDeviceType == ec2types.DeviceTypeInstanceStore
	switch {
	case r.inst.Spot:
		notes = append(notes, "termination protection and shutdown behaviour not applicable to a Spot instance")
	default:
		changes = append(changes, change{"enable termination protection", &ec2.ModifyInstanceAttributeInput{InstanceId: id,
			DisableApiTermination: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}})
		if instanceStore {
			notes = append(notes, "shutdown behaviour not applicable: instance-store root cannot stop")
		} else {
			changes = append(changes, change{"set shutdown behaviour to stop", &ec2.ModifyInstanceAttributeInput{InstanceId: id,
				InstanceInitiatedShutdownBehavior: &ec2types.AttributeValue{Value: aws.String("stop")}}})
		}
	}
	var keep []ec2types.InstanceBlockDeviceMappingSpecification
	var devices []string
	for _, m := range r.inst.raw.BlockDeviceMappings {
		if m.Ebs != nil && aws.ToBool(m.Ebs.DeleteOnTermination) {
			keep = append(keep, ec2types.InstanceBlockDeviceMappingSpecification{DeviceName: m.DeviceName,
				Ebs: &ec2types.EbsInstanceBlockDeviceSpecification{DeleteOnTermination: aws.Bool(false)}})
			devices = append(devices, aws.ToString(m.DeviceName))
		}
	}
	if len(keep) > 0 {
		changes = append(changes, change{"keep volumes on termination: " + strings.Join(devices, ", "),
			&ec2.ModifyInstanceAttributeInput{InstanceId: id, BlockDeviceMappings: keep}})
	}
	if len(changes) == 0 {
		return step(report.StepProtect, report.NotApplicable, nil, "%s", strings.Join(append(notes, "no EBS volume set to delete on termination"), "; "))
	}
	var actions []string
	for _, c := range changes {
		actions = append(actions, c.what)
	}
	errs := each(changes, func(c change) error {
		if c.in.BlockDeviceMappings != nil {
			// Let the evidence read the volumes' delete-on-termination first.
			_, _ = f.volumes.wait()
		} else {
			// And the attributes, which release puts back as they were.
			_, _ = f.attributes.wait()
		}
		c.in.DryRun = aws.Bool(r.t.DryRun)
		_, err := r.api.EC2.ModifyInstanceAttribute(ctx, c.in)
		if r.t.DryRun {
			err = dryRunOK(err)
		}
		if err != nil {
			return fmt.Errorf("%s on %s: %w", c.what, r.inst.ID, err)
		}
		return nil
	})
	detail := strings.Join(append([]string{fmt.Sprintf("%d protections", len(changes))}, notes...), "; ")
	if err := joinErrs(errs); err != nil {
		return failed(report.StepProtect, detail, err, actions)
	}
	return step(report.StepProtect, r.plan(), actions, "%s", detail)
}
