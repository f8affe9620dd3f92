package runbook_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/report"
)

func TestProtect(t *testing.T) {
	keep, drop := awsfake.VolumeSpec{DeleteOnTermination: false}, awsfake.VolumeSpec{DeleteOnTermination: true}
	for _, tc := range []struct {
		name string
		spec awsfake.InstanceSpec
		want report.Status
		// termination protection and shutdown behaviour after the run
		terminationProtected bool
		shutdown             ec2types.ShutdownBehavior
		// note must appear in the step's detail
		note string
	}{
		{
			name: "on-demand with EBS root and data volumes",
			spec: awsfake.InstanceSpec{Volumes: []awsfake.VolumeSpec{drop, drop}},
			want: report.Done, terminationProtected: true, shutdown: ec2types.ShutdownBehaviorStop,
		},
		{
			name: "Spot: no termination protection or shutdown change, volumes kept",
			spec: awsfake.InstanceSpec{Spot: true, Volumes: []awsfake.VolumeSpec{drop, keep}},
			want: report.Done, shutdown: ec2types.ShutdownBehaviorTerminate, note: "not applicable to a Spot instance",
		},
		{
			name: "Spot whose volumes already outlive it: nothing applicable",
			spec: awsfake.InstanceSpec{Spot: true, Volumes: []awsfake.VolumeSpec{keep}},
			want: report.NotApplicable, shutdown: ec2types.ShutdownBehaviorTerminate, note: "Spot",
		},
		{
			name: "instance-store root with an EBS data volume",
			spec: awsfake.InstanceSpec{InstanceStoreRoot: true, Volumes: []awsfake.VolumeSpec{drop}},
			want: report.Done, terminationProtected: true, shutdown: ec2types.ShutdownBehaviorStop, note: "instance-store root",
		},
		{
			name: "instance-store root without EBS",
			spec: awsfake.InstanceSpec{InstanceStoreRoot: true},
			want: report.Done, terminationProtected: true, shutdown: ec2types.ShutdownBehaviorStop, note: "instance-store root",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			rec := e.record()
			tc.spec.Subnet = e.d.SubnetA
			id := e.w.AddInstance(tc.spec)
			// Make the shutdown behaviour "terminate" where it can change, so
			// that "stop" afterwards is the runbook's doing.
			if !tc.spec.Spot && !tc.spec.InstanceStoreRoot {
				if _, err := e.w.Clients().EC2.ModifyInstanceAttribute(context.Background(), &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(id),
					InstanceInitiatedShutdownBehavior: &ec2types.AttributeValue{Value: aws.String("terminate")}}); err != nil {
					t.Fatal(err)
				}
			}

			out := e.runbook().Run(context.Background(), e.target(id))

			s := stepOf(t, out, report.StepProtect)
			if s.Status != tc.want || !strings.Contains(s.Detail, tc.note) {
				t.Errorf("protect: %s %q (%s), want %s with %q", s.Status, s.Detail, s.Message, tc.want, tc.note)
			}
			attrs := e.w.InstanceAttributes(id)
			if attrs.DisableAPITermination != tc.terminationProtected || attrs.ShutdownBehavior != tc.shutdown {
				t.Errorf("termination protection %v, shutdown %s; want %v, %s", attrs.DisableAPITermination, attrs.ShutdownBehavior, tc.terminationProtected, tc.shutdown)
			}
			for _, m := range e.w.Instance(id).BlockDeviceMappings {
				if aws.ToBool(m.Ebs.DeleteOnTermination) {
					t.Errorf("volume %s at %s is still deleted on termination", aws.ToString(m.Ebs.VolumeId), aws.ToString(m.DeviceName))
				}
			}
			for _, c := range rec.recorded() {
				in, ok := c.in.(*ec2.ModifyInstanceAttributeInput)
				if !ok {
					continue
				}
				if tc.spec.Spot && (in.DisableApiTermination != nil || in.InstanceInitiatedShutdownBehavior != nil) {
					t.Errorf("Spot instance asked for %+v", in)
				}
				if tc.spec.InstanceStoreRoot && in.InstanceInitiatedShutdownBehavior != nil {
					t.Errorf("instance-store root asked for shutdown behaviour %q", aws.ToString(in.InstanceInitiatedShutdownBehavior.Value))
				}
			}
		})
	}
}
