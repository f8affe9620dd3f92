package awsfake

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// CreateTags adds or overwrites tags on many resources at once; it is all or nothing.
func (c *EC2) CreateTags(ctx context.Context, in *ec2.CreateTagsInput, _ ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	return call(ctx, c.w, svcEC2, "CreateTags", in, c.w.createTags)
}

func (w *World) createTags(in *ec2.CreateTagsInput) (*ec2.CreateTagsOutput, error) {
	if len(in.Resources) == 0 {
		return nil, errMissing("resourceIdSet")
	}
	if len(in.Tags) == 0 {
		return nil, errMissing("tagSet")
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	var targets []tags
	for _, id := range in.Resources {
		t, err := w.tagsOf(id)
		if err != nil {
			return nil, err
		}
		merged := tagsFrom(t)
		for _, tag := range in.Tags {
			merged[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		if merged.userTagCount() > maxTagsPerResource {
			return nil, apiError("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
		}
		targets = append(targets, t)
	}
	if aws.ToBool(in.DryRun) {
		return nil, errDryRun()
	}
	for _, t := range targets {
		for _, tag := range in.Tags {
			t[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
	}
	return &ec2.CreateTagsOutput{}, nil
}

// tagsOf finds the tag set of any taggable resource by its id.
func (w *World) tagsOf(id string) (tags, error) {
	prefix, _, _ := strings.Cut(id, "-")
	if !wellFormed(prefix, id) {
		return nil, apiError("InvalidID", "The ID '%s' is not valid", id)
	}
	switch prefix {
	case "i":
		if r, ok := w.instances.get(id); ok {
			return r.tags, nil
		}
		return nil, errInstanceNotFound(id)
	case "vol":
		if r, ok := w.volumes.get(id); ok {
			return r.tags, nil
		}
		return nil, errVolumeNotFound(id)
	case "snap":
		if r, ok := w.snapshots.get(id); ok {
			return r.tags, nil
		}
		return nil, errSnapshotNotFound(id)
	case "sg":
		if r, ok := w.groups.get(id); ok {
			return r.tags, nil
		}
		return nil, errGroupNotFound(id)
	case "sgr":
		if gid, ok := w.ruleGroup[id]; ok {
			for _, r := range w.groups.m[gid].rules {
				if r.id == id {
					return r.tags, nil
				}
			}
		}
		return nil, errRuleNotFound(id)
	case "eni":
		if r, ok := w.enis.get(id); ok {
			return r.tags, nil
		}
		return nil, errENINotFound(id)
	case "vpc":
		if r, ok := w.vpcs.get(id); ok {
			return r.tags, nil
		}
		return nil, apiError("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
	case "subnet":
		if r, ok := w.subnets.get(id); ok {
			return r.tags, nil
		}
		return nil, apiError("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
	case "acl":
		if r, ok := w.nacls.get(id); ok {
			return r.tags, nil
		}
		return nil, errNACLNotFound(id)
	}
	return nil, apiError("InvalidID", "The ID '%s' is not valid", id)
}
