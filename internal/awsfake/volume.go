package awsfake

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

type volume struct {
	id, az              string
	size                int32
	vtype               types.VolumeType
	iops, throughput    int32
	encrypted           bool
	instanceID, device  string
	deleteOnTermination bool
	created, attached   time.Time
	lastSnapshot        time.Time
	tags                tags
}

func (w *World) newVolume(in *instance, device string, spec VolumeSpec) *volume {
	v := &volume{
		id:                  w.newID("vol"),
		az:                  in.az,
		size:                cmp.Or(spec.SizeGiB, 8),
		vtype:               cmp.Or(spec.Type, types.VolumeTypeGp3),
		encrypted:           spec.Encrypted,
		instanceID:          in.id,
		device:              device,
		deleteOnTermination: spec.DeleteOnTermination,
		created:             w.nowLocked(),
		attached:            w.nowLocked(),
		tags:                tagsFrom(spec.Tags),
	}
	if v.vtype == types.VolumeTypeGp3 {
		v.iops, v.throughput = 3000, 125
	}
	w.volumes.put(v.id, v)
	return v
}

// Volume returns a copy of a volume as DescribeVolumes shows it (the zero value
// when there is none).
func (w *World) Volume(id string) types.Volume {
	w.mu.Lock()
	defer w.mu.Unlock()
	if v, ok := w.volumes.get(id); ok {
		return w.renderVolume(v)
	}
	return types.Volume{}
}

func (w *World) renderVolume(v *volume) types.Volume {
	out := types.Volume{
		AvailabilityZone:   aws.String(v.az),
		CreateTime:         aws.Time(v.created),
		Encrypted:          aws.Bool(v.encrypted),
		MultiAttachEnabled: aws.Bool(false),
		Size:               aws.Int32(v.size),
		SnapshotId:         aws.String(""),
		State:              types.VolumeStateAvailable,
		Tags:               v.tags.sdk(),
		VolumeId:           aws.String(v.id),
		VolumeType:         v.vtype,
		Attachments:        []types.VolumeAttachment{},
	}
	if v.iops > 0 {
		out.Iops, out.Throughput = aws.Int32(v.iops), aws.Int32(v.throughput)
	}
	if v.instanceID != "" {
		out.State = types.VolumeStateInUse
		out.Attachments = append(out.Attachments, types.VolumeAttachment{
			AttachTime:          aws.Time(v.attached),
			DeleteOnTermination: aws.Bool(v.deleteOnTermination),
			Device:              aws.String(v.device),
			InstanceId:          aws.String(v.instanceID),
			State:               types.VolumeAttachmentStateAttached,
			VolumeId:            aws.String(v.id),
		})
	}
	return out
}

// DescribeVolumes lists volumes by id and filters.
func (c *EC2) DescribeVolumes(ctx context.Context, in *ec2.DescribeVolumesInput, _ ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error) {
	return call(ctx, c.w, svcEC2, "DescribeVolumes", in, c.w.describeVolumes)
}

func (w *World) describeVolumes(in *ec2.DescribeVolumesInput) (*ec2.DescribeVolumesOutput, error) {
	if err := checkFilters(in.Filters, "volume-id", "attachment.instance-id", "attachment.device",
		"attachment.delete-on-termination", "attachment.status", "status", "volume-type", "availability-zone",
		"size", "encrypted"); err != nil {
		return nil, err
	}
	for _, id := range in.VolumeIds {
		if !wellFormed("vol", id) {
			return nil, apiError("InvalidVolumeID.Malformed", "Invalid id: %q (expecting \"vol-...\")", id)
		}
		if !w.volumes.has(id) {
			return nil, errVolumeNotFound(id)
		}
	}
	if aws.ToBool(in.DryRun) {
		return nil, errDryRun()
	}
	var found []types.Volume
	for _, v := range w.volumes.all() {
		if len(in.VolumeIds) > 0 && !slices.Contains(in.VolumeIds, v.id) {
			continue
		}
		if matchFilters(in.Filters, v.tags, v.field()) {
			found = append(found, w.renderVolume(v))
		}
	}
	out, next, err := ec2Page(found, in.MaxResults, in.NextToken, 5, 500, len(in.VolumeIds) > 0, "volumeIds")
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeVolumesOutput{Volumes: out, NextToken: next}, nil
}

func (v *volume) field() func(string) []string {
	return func(name string) []string {
		attached := v.instanceID != ""
		switch name {
		case "volume-id":
			return []string{v.id}
		case "status":
			if attached {
				return []string{"in-use"}
			}
			return []string{"available"}
		case "volume-type":
			return []string{string(v.vtype)}
		case "availability-zone":
			return []string{v.az}
		case "size":
			return []string{strconv.Itoa(int(v.size))}
		case "encrypted":
			return boolValue(v.encrypted)
		}
		if !attached {
			return nil
		}
		switch name {
		case "attachment.instance-id":
			return []string{v.instanceID}
		case "attachment.device":
			return []string{v.device}
		case "attachment.delete-on-termination":
			return boolValue(v.deleteOnTermination)
		case "attachment.status":
			return []string{"attached"}
		}
		return nil
	}
}

func (w *World) mustVolume(id string) *volume {
	v, ok := w.volumes.get(id)
	if !ok {
		panic(fmt.Sprintf("awsfake: no volume %q", id))
	}
	return v
}
