package runbook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/ledger"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/rolepolicy"
)

// credentials contains the instance's identity: a deny on its role for its
// own sessions (wherever the copied credentials are used), its profile
// association removed so the metadata service hands out no new ones, and the
// metadata endpoint off. It starts with the instance's description and
// waits for nothing else, so it never delays isolation.
func (r *run) credentials(ctx context.Context, f *facts, ec2Writes func()) (report.Step, *report.Credentials) {
	p := r.inst.raw.IamInstanceProfile
	if p == nil || aws.ToString(p.Arn) == "" {
		// A retry after an earlier attempt removed the profile: the record
		// that attempt kept names it, and the deny is made sure of again.
		p = r.recordedProfile(ctx)
	}
	if p == nil || aws.ToString(p.Arn) == "" {
		return step(report.StepCredentials, report.NotApplicable, nil, "no instance profile: the instance has no role credentials"), nil
	}
	if r.opt.RoleLockTable == "" || r.api.IAM == nil {
		return step(report.StepCredentials, report.Skipped, nil, "credential containment is not configured (no ledger table)"), nil
	}
	profileARN := aws.ToString(p.Arn)
	c := &report.Credentials{ProfileARN: profileARN,
		InstanceARN: rolepolicy.InstanceARN(partitionOf(r.t.Region), r.t.Region, r.t.AccountID, r.t.InstanceID)}
	if mo := r.inst.raw.MetadataOptions; mo != nil {
		c.MetadataEndpoint = string(mo.HttpEndpoint)
	}
	name := profileARN[strings.LastIndex(profileARN, "/")+1:]
	prof, err := r.api.IAM.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
	if err != nil {
		return failed(report.StepCredentials, "could not read the instance profile "+name+"; credentials not contained", err, nil), c
	}
	if len(prof.InstanceProfile.Roles) == 0 {
		return step(report.StepCredentials, report.NotApplicable, nil, "instance profile %s holds no role", name), c
	}
	c.Role = aws.ToString(prof.InstanceProfile.Roles[0].RoleName)
	if r.t.CredentialRole != "" && r.t.CredentialRole != c.Role {
		return step(report.StepCredentials, report.Skipped, nil,
			"refused: the finding names credentials of role %s, but the instance's profile holds role %s now; a person must decide which sessions to deny", r.t.CredentialRole, c.Role), c
	}
	tags, err := r.api.IAM.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String(c.Role)})
	if err != nil {
		return failed(report.StepCredentials, "could not read the tags of role "+c.Role+"; credentials not contained", err, nil), c
	}
	exempt := false
	for _, t := range tags.Tags {
		exempt = exempt || aws.ToString(t.Key) == contract.TagExempt && aws.ToString(t.Value) == "true"
	}
	if why := protectedRole(c.Role, exempt); why != "" {
		return step(report.StepCredentials, report.Skipped, nil, "refused: role %s %s; a person must decide", c.Role, why), c
	}
	wr := rolepolicy.Writer{IAM: r.api.IAM, Account: r.t.AccountID, Partition: partitionOf(r.t.Region)}
	actions := []string{
		fmt.Sprintf("deny every action to sessions of role %s whose ec2:SourceInstanceARN is %s (policy %s%s under %s)",
			c.Role, c.InstanceARN, contract.DenyPolicyPrefix, c.Role+"-<n>", contract.DenyPolicyPath),
		"remove the instance profile association (no new credentials from the metadata service)",
		"set the metadata endpoint to disabled",
	}
	if r.t.DryRun {
		actions = append(actions, "policy document (this instance's entry): "+rolepolicy.Document([]string{c.InstanceARN}))
		// EC2 tells whether the metadata change would be allowed; IAM and
		// the profile removal have no dry run.
		_, err := r.api.EC2.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(r.t.InstanceID),
			HttpEndpoint: ec2types.InstanceMetadataEndpointStateDisabled, DryRun: aws.Bool(true)})
		if err := dryRunOK(err); err != nil {
			return failed(report.StepCredentials, "dry run: disabling the metadata endpoint would fail", err, actions), c
		}
		return report.Step{Name: report.StepCredentials, Status: report.Planned, Detail: "role " + c.Role + ": deny this instance's sessions, cut the profile", Actions: actions}, c
	}

	// The profile is removed only once the deny is written: a retry after a
	// failed deny still finds the role through the profile. The metadata
	// endpoint goes off meanwhile.
	var wg sync.WaitGroup
	var denyErr, cutErr, mdErr error
	var commit ledger.Commit
	lock := ledger.NewRoleLock(r.api.DynamoDB, r.opt.RoleLockTable)
	wg.Go(func() {
		commit, denyErr = lock.Add(ctx, r.t.AccountID, c.Role, c.InstanceARN, func(ctx context.Context, want []string) ([]string, error) {
			res, err := wr.Set(ctx, c.Role, want)
			return res.Written, err
		})
		switch {
		case errors.Is(denyErr, rolepolicy.ErrBudgetFull):
			// No retry makes room: cut what can still be cut.
		case denyErr != nil:
			return
		default:
			c.DeniedAt = r.opt.Now().UTC()
		}
		ec2Writes()
		c.AssociationID, cutErr = r.disassociate(ctx, f)
	})
	wg.Go(func() {
		ec2Writes()
		if c.MetadataEndpoint == string(ec2types.InstanceMetadataEndpointStateDisabled) {
			return // already off (a retry): nothing to send
		}
		_, mdErr = r.api.EC2.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(r.t.InstanceID),
			HttpEndpoint: ec2types.InstanceMetadataEndpointStateDisabled})
	})
	wg.Wait()
	c.PolicyPrefix = rolepolicy.PolicyARNPrefix(partitionOf(r.t.Region), r.t.AccountID, c.Role)
	c.Disassociated, c.MetadataDisabled = cutErr == nil && c.AssociationID != "", mdErr == nil
	if err := errors.Join(wrapErr("denying the role's sessions of "+r.t.InstanceID+" on "+c.Role, denyErr),
		wrapErr("removing the profile association", cutErr), wrapErr("disabling the metadata endpoint", mdErr)); err != nil {
		detail := "credentials only partly contained"
		if errors.Is(denyErr, rolepolicy.ErrBudgetFull) {
			c.BudgetFull = true
			detail = "the role's managed-policy budget is full: this instance's sessions are NOT denied; detach a policy from role " + c.Role + " or ask for a higher quota"
		}
		return failed(report.StepCredentials, detail, err, actions), c
	}
	by := "written by another containment's batch"
	if commit.ByThisCall {
		by = fmt.Sprintf("written by this containment (%d instances in the batch)", commit.Batch)
	}
	return report.Step{Name: report.StepCredentials, Status: report.Done, Actions: actions,
		Detail: fmt.Sprintf("role %s: sessions of this instance denied at %s (%s; IAM applies it everywhere within seconds), profile removed, metadata endpoint off",
			c.Role, c.DeniedAt.Format("2006-01-02T15:04:05Z"), by)}, c
}

func wrapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// disassociate removes the instance's profile association, read with the
// evidence (none: nothing to do).
func (r *run) disassociate(ctx context.Context, f *facts) (string, error) {
	assocs, err := f.profile.wait()
	if err != nil {
		return "", err
	}
	for _, a := range assocs {
		if a.State != ec2types.IamInstanceProfileAssociationStateAssociated {
			continue
		}
		id := aws.ToString(a.AssociationId)
		if _, err := r.api.EC2.DisassociateIamInstanceProfile(ctx, &ec2.DisassociateIamInstanceProfileInput{AssociationId: aws.String(id)}); err != nil && !hasCode(err, "InvalidAssociationID.NotFound") {
			return id, err
		}
		return id, nil
	}
	return "", nil
}

// protectedRole says why Firebreak never changes a role: its own, the CDK
// bootstrap's, or one tagged exempt.
func protectedRole(name string, exempt bool) string {
	lower := strings.ToLower(name)
	switch {
	case exempt:
		return "is tagged " + contract.TagExempt + "=true"
	case strings.HasPrefix(lower, "firebreak"):
		return "is one of Firebreak's own roles"
	case strings.HasPrefix(lower, "cdk-"):
		return "is a CDK bootstrap role"
	}
	return ""
}

// partitionOf is the partition of a Region.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// credentialsOnly contains the credentials alone (credentialFindings =
// credentials-only): the evidence first, the network, the group and the load
// balancers left as they are, the instance tagged so a release finds the case.
func (r *run) credentialsOnly(ctx context.Context, f *facts, note string) Outcome {
	capture := async(func() (captured, error) { return r.capture(ctx, f), nil })
	s, c := r.credentials(ctx, f, func() {})
	cp, _ := capture.wait()
	steps := []report.Step{cp.step}
	for _, name := range report.StepNames[1:] {
		switch name {
		case report.StepTag:
			steps = append(steps, r.tag(ctx, contract.StatusCredentialsContained))
		case report.StepCredentials:
			steps = append(steps, s)
		default:
			steps = append(steps, report.Step{Name: name, Status: report.Skipped, Detail: "credentials only (credentialFindings=credentials-only): left as it is"})
		}
	}
	return Outcome{Steps: steps, Evidence: cp.evidence, Credentials: c, Note: note, Tags: r.inst.Tags}
}

// recordedProfile is the instance profile the pre-change record of an earlier
// attempt of this containment names (nil when there is none).
func (r *run) recordedProfile(ctx context.Context) *ec2types.IamInstanceProfile {
	version, caseID := r.inst.Tags[contract.TagEvidenceVersion], r.inst.Tags[contract.TagCaseID]
	if version == "" || caseID == "" || r.opt.EvidenceBucket == "" {
		return nil
	}
	out, err := r.api.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.opt.EvidenceBucket),
		Key: aws.String(EvidenceKey(r.t.AccountID, r.t.Region, r.t.InstanceID, caseID, "capture.json")), VersionId: aws.String(version)})
	if err != nil {
		r.log.WarnContext(ctx, "could not read the earlier record for the instance profile", "error", err)
		return nil
	}
	defer out.Body.Close()
	var rec Record
	if err := json.NewDecoder(io.LimitReader(out.Body, 32<<20)).Decode(&rec); err != nil || rec.Instance.IamInstanceProfile == nil {
		return nil
	}
	return rec.Instance.IamInstanceProfile
}

// credentialRoleMismatch says why the instance does not hold the role a
// credential finding names ("" when it does). The profile an earlier
// attempt of this containment removed counts as the instance's.
func (r *run) credentialRoleMismatch(ctx context.Context) (string, error) {
	p := r.inst.raw.IamInstanceProfile
	if p == nil || aws.ToString(p.Arn) == "" {
		p = r.recordedProfile(ctx)
	}
	if p == nil || aws.ToString(p.Arn) == "" {
		return fmt.Sprintf("credentials of role %s were used, but instance %s has no instance profile now", r.t.CredentialRole, r.t.InstanceID), nil
	}
	arn := aws.ToString(p.Arn)
	prof, err := r.api.IAM.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(arn[strings.LastIndex(arn, "/")+1:])})
	if err != nil {
		return "", fmt.Errorf("reading instance profile %s: %w", arn, err)
	}
	for _, role := range prof.InstanceProfile.Roles {
		if aws.ToString(role.RoleName) == r.t.CredentialRole {
			return "", nil
		}
	}
	return fmt.Sprintf("credentials of role %s were used, but instance %s no longer has it (its profile %s holds another role)", r.t.CredentialRole, r.t.InstanceID, arn), nil
}
