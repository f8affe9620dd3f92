package awsfake

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// metadataOptions are an instance's instance metadata service settings.
type metadataOptions struct {
	endpoint, tokens, tags, ipv6 string
	hopLimit                     int32
}

// defaultMetadata is what a launch template from the current console gives:
// IMDSv2 only, hop limit 2.
var defaultMetadata = metadataOptions{endpoint: "enabled", tokens: "required", tags: "disabled", ipv6: "disabled", hopLimit: 2}

func (m metadataOptions) sdk() *types.InstanceMetadataOptionsResponse {
	return &types.InstanceMetadataOptionsResponse{
		HttpEndpoint: types.InstanceMetadataEndpointState(m.endpoint), HttpTokens: types.HttpTokensState(m.tokens),
		HttpPutResponseHopLimit: aws.Int32(m.hopLimit), InstanceMetadataTags: types.InstanceMetadataTagsState(m.tags),
		HttpProtocolIpv6: types.InstanceMetadataProtocolState(m.ipv6), State: types.InstanceMetadataOptionsStateApplied,
	}
}

// SetMetadataOptions changes an instance's metadata settings for a test seed.
func (w *World) SetMetadataOptions(id, endpoint, tokens string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	in, ok := w.instances.get(id)
	if !ok {
		panic(fmt.Sprintf("awsfake: no instance %q", id))
	}
	in.metadata.endpoint, in.metadata.tokens = endpoint, tokens
}

// AssociateProfile seeds a profile association on an instance (as its
// launch would have), without drawing from the world's id sequence.
func (w *World) AssociateProfile(id, profileARN string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	in, ok := w.instances.get(id)
	p, okp := w.profiles.get(profileARN)
	if !ok || !okp {
		panic(fmt.Sprintf("awsfake: no instance %q or profile %q", id, profileARN))
	}
	in.associations++
	in.profile = &profileAssoc{assocID: assocID(in), arn: p.arn, id: p.id}
}

// profileByARN resolves an instance profile by ARN or name.
func (w *World) profileByARN(spec *types.IamInstanceProfileSpecification) (*instanceProfile, error) {
	if spec == nil || (aws.ToString(spec.Arn) == "" && aws.ToString(spec.Name) == "") {
		return nil, errMissing("IamInstanceProfile")
	}
	for _, p := range w.profiles.all() {
		if p.arn == aws.ToString(spec.Arn) || p.name == aws.ToString(spec.Name) {
			return p, nil
		}
	}
	return nil, apiError("InvalidParameterValue", "Value (%s) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN", aws.ToString(spec.Arn)+aws.ToString(spec.Name))
}

// AssociateIamInstanceProfile gives an instance without a profile one.
func (c *EC2) AssociateIamInstanceProfile(ctx context.Context, in *ec2.AssociateIamInstanceProfileInput, _ ...func(*ec2.Options)) (*ec2.AssociateIamInstanceProfileOutput, error) {
	return call(ctx, c.w, svcEC2, "AssociateIamInstanceProfile", in, func(in *ec2.AssociateIamInstanceProfileInput) (*ec2.AssociateIamInstanceProfileOutput, error) {
		inst, err := c.w.lookupInstance(in.InstanceId)
		if err != nil {
			return nil, err
		}
		p, err := c.w.profileByARN(in.IamInstanceProfile)
		if err != nil {
			return nil, err
		}
		if inst.profile != nil {
			return nil, apiError("IncorrectState", "There is an existing association for instance %s", inst.id)
		}
		inst.associations++
		inst.profile = &profileAssoc{assocID: assocID(inst), arn: p.arn, id: p.id}
		return &ec2.AssociateIamInstanceProfileOutput{IamInstanceProfileAssociation: &types.IamInstanceProfileAssociation{
			AssociationId: aws.String(inst.profile.assocID), InstanceId: aws.String(inst.id), State: types.IamInstanceProfileAssociationStateAssociating,
			IamInstanceProfile: &types.IamInstanceProfile{Arn: aws.String(p.arn), Id: aws.String(p.id)}}}, nil
	})
}

// DisassociateIamInstanceProfile removes an instance's profile association.
func (c *EC2) DisassociateIamInstanceProfile(ctx context.Context, in *ec2.DisassociateIamInstanceProfileInput, _ ...func(*ec2.Options)) (*ec2.DisassociateIamInstanceProfileOutput, error) {
	return call(ctx, c.w, svcEC2, "DisassociateIamInstanceProfile", in, func(in *ec2.DisassociateIamInstanceProfileInput) (*ec2.DisassociateIamInstanceProfileOutput, error) {
		id := aws.ToString(in.AssociationId)
		if id == "" {
			return nil, errMissing("AssociationId")
		}
		for _, inst := range c.w.instances.all() {
			if inst.profile == nil || inst.profile.assocID != id {
				continue
			}
			p := inst.profile
			inst.profile = nil
			return &ec2.DisassociateIamInstanceProfileOutput{IamInstanceProfileAssociation: &types.IamInstanceProfileAssociation{
				AssociationId: aws.String(id), InstanceId: aws.String(inst.id), State: types.IamInstanceProfileAssociationStateDisassociating,
				IamInstanceProfile: &types.IamInstanceProfile{Arn: aws.String(p.arn), Id: aws.String(p.id)}}}, nil
		}
		return nil, apiError("InvalidAssociationID.NotFound", "An association ID, '%s', is not valid.", id)
	})
}

// ModifyInstanceMetadataOptions changes the metadata service settings; omitted fields keep their value.
func (c *EC2) ModifyInstanceMetadataOptions(ctx context.Context, in *ec2.ModifyInstanceMetadataOptionsInput, _ ...func(*ec2.Options)) (*ec2.ModifyInstanceMetadataOptionsOutput, error) {
	return call(ctx, c.w, svcEC2, "ModifyInstanceMetadataOptions", in, func(in *ec2.ModifyInstanceMetadataOptionsInput) (*ec2.ModifyInstanceMetadataOptionsOutput, error) {
		inst, err := c.w.lookupInstance(in.InstanceId)
		if err != nil {
			return nil, err
		}
		m := inst.metadata
		for _, f := range []struct {
			name, v string
			dst     *string
			allowed []string
		}{
			{"HttpEndpoint", string(in.HttpEndpoint), &m.endpoint, []string{"enabled", "disabled"}},
			{"HttpTokens", string(in.HttpTokens), &m.tokens, []string{"optional", "required"}},
			{"InstanceMetadataTags", string(in.InstanceMetadataTags), &m.tags, []string{"enabled", "disabled"}},
			{"HttpProtocolIpv6", string(in.HttpProtocolIpv6), &m.ipv6, []string{"enabled", "disabled"}},
		} {
			if f.v == "" {
				continue
			}
			if !strings.Contains(" "+strings.Join(f.allowed, " ")+" ", " "+f.v+" ") {
				return nil, apiError("InvalidParameterValue", "The %s parameter value %q is not valid.", f.name, f.v)
			}
			*f.dst = f.v
		}
		if h := in.HttpPutResponseHopLimit; h != nil {
			if *h < 1 || *h > 64 {
				return nil, apiError("InvalidParameterValue", "The HttpPutResponseHopLimit must be between 1 and 64.")
			}
			m.hopLimit = *h
		}
		if aws.ToBool(in.DryRun) {
			return nil, errDryRun()
		}
		inst.metadata = m
		out := m.sdk()
		out.State = types.InstanceMetadataOptionsStatePending
		return &ec2.ModifyInstanceMetadataOptionsOutput{InstanceId: aws.String(inst.id), InstanceMetadataOptions: out}, nil
	})
}

// InstanceCredentials is what a process on the instance gets from the
// metadata service: a session of the profile's role named after the instance,
// carrying ec2:SourceInstanceARN. None while no profile is associated or the
// metadata endpoint is off. Credentials fetched earlier stay valid: only a
// deny on the role stops them.
func (w *World) InstanceCredentials(id string) (Principal, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	in, ok := w.instances.get(id)
	switch {
	case !ok:
		return Principal{}, fmt.Errorf("no instance %s", id)
	case in.profile == nil:
		return Principal{}, fmt.Errorf("instance %s has no instance profile: the metadata service has no credentials", id)
	case in.metadata.endpoint == "disabled":
		return Principal{}, fmt.Errorf("instance %s: the metadata endpoint is disabled", id)
	}
	p, ok := w.profiles.get(in.profile.arn)
	if !ok || p.role == "" {
		return Principal{}, fmt.Errorf("instance %s: profile %s holds no role", id, in.profile.arn)
	}
	return Principal{Account: w.account, Role: p.role, Session: id,
		SourceInstanceARN: fmt.Sprintf("arn:aws:ec2:%s:%s:instance/%s", w.region, w.account, id)}, nil
}

// assocID names an instance's n-th profile association, outside the world's
// id sequence (see nameID).
func assocID(in *instance) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s#%d", in.id, in.associations)
	return fmt.Sprintf("iip-assoc-%017x", h.Sum64())
}

// InstanceAccessKey is an access key id for the credentials the instance's
// metadata service hands out now (InstanceCredentials): requests signed with
// it through the wire simulator act as that session (AuthorizeKey).
func (w *World) InstanceAccessKey(id string) (string, error) {
	p, err := w.InstanceCredentials(id)
	if err != nil {
		return "", err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.instanceKeys == nil {
		w.instanceKeys = map[string]Principal{}
	}
	key := fmt.Sprintf("ASIAINSTANCE%08d", len(w.instanceKeys)+1)
	w.instanceKeys[key] = p
	return key, nil
}

// AuthorizeKey is Authorize for the session an access key belongs to; keys
// that are not an instance's (the function's own) are not checked.
func (w *World) AuthorizeKey(accessKeyID, action string) error {
	w.mu.Lock()
	p, ok := w.instanceKeys[accessKeyID]
	w.mu.Unlock()
	if !ok {
		return nil
	}
	return w.Authorize(p, action)
}
