package release

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/firebreak-ir/firebreak/internal/awserr"
	"github.com/firebreak-ir/firebreak/internal/ledger"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/rolepolicy"
)

// credentials undoes the credentials step from the verified record: the
// instance's ARN removed from its role's deny policies (an emptied policy is
// deleted), the recorded profile associated again, the metadata endpoint put
// back as it was.
func (r *run) credentials(ctx context.Context) report.Step {
	rec := r.ev.record.Instance
	if rec.IamInstanceProfile == nil || aws.ToString(rec.IamInstanceProfile.Arn) == "" {
		return report.Step{Name: report.StepCredentials, Status: report.NotApplicable, Detail: "the instance had no instance profile: no credentials were contained"}
	}
	profileARN := aws.ToString(rec.IamInstanceProfile.Arn)
	partition := strings.SplitN(profileARN, ":", 3)[1]
	instanceARN := rolepolicy.InstanceARN(partition, r.req.Region, r.req.AccountID, r.req.InstanceID)
	name := profileARN[strings.LastIndex(profileARN, "/")+1:]
	prof, err := r.api.IAM.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
	if err != nil {
		return failedStep(report.StepCredentials, "could not read the recorded instance profile "+name, err, nil)
	}
	if len(prof.InstanceProfile.Roles) == 0 {
		return failedStep(report.StepCredentials, "the recorded instance profile holds no role now", errors.New("profile "+name+" has no role"), nil)
	}
	role := aws.ToString(prof.InstanceProfile.Roles[0].RoleName)
	wantEndpoint := ec2types.InstanceMetadataEndpointStateEnabled
	if mo := rec.MetadataOptions; mo != nil && mo.HttpEndpoint != "" {
		wantEndpoint = mo.HttpEndpoint
	}
	actions := []string{
		r.verb(fmt.Sprintf("remove %s from the deny policies of role %s", instanceARN, role)),
		r.verb("associate instance profile " + profileARN),
		r.verb("set the metadata endpoint back to " + string(wantEndpoint)),
	}
	if r.req.DryRun {
		return report.Step{Name: report.StepCredentials, Status: report.Planned, Actions: actions, Detail: "role " + role + ": lift the deny, give the profile back"}
	}
	var denyErr, assocErr, mdErr error
	var commit ledger.Commit
	changed := 0
	if r.opt.RoleLockTable == "" {
		denyErr = errors.New("no ledger table configured: the deny cannot be removed under the role's lock")
	} else {
		wr := rolepolicy.Writer{IAM: r.api.IAM, Account: r.req.AccountID, Partition: partition}
		commit, denyErr = ledger.NewRoleLock(r.api.DynamoDB, r.opt.RoleLockTable).Remove(ctx, r.req.AccountID, role, instanceARN,
			func(ctx context.Context, want []string) ([]string, error) {
				res, err := wr.Set(ctx, role, want)
				return res.Written, err
			})
	}
	if commit.Writes > 0 {
		changed++
	}
	if r.inst.IamInstanceProfile == nil {
		changed++
		_, assocErr = r.api.EC2.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(r.req.InstanceID),
			IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Arn: aws.String(profileARN)}})
		if awserr.Is(assocErr, "IncorrectState") {
			assocErr = nil // associated meanwhile
		}
	}
	if mo := r.inst.MetadataOptions; mo == nil || mo.HttpEndpoint != wantEndpoint {
		changed++
		_, mdErr = r.api.EC2.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(r.req.InstanceID), HttpEndpoint: wantEndpoint})
	}
	if err := errors.Join(wrap("removing the deny on role "+role, denyErr), wrap("associating "+profileARN, assocErr), wrap("restoring the metadata endpoint", mdErr)); err != nil {
		return failedStep(report.StepCredentials, "credentials only partly restored", err, actions)
	}
	if changed == 0 {
		return report.Step{Name: report.StepCredentials, Status: report.Skipped, Detail: "role " + role + ": no deny left for this instance, profile and metadata endpoint already as recorded"}
	}
	return report.Step{Name: report.StepCredentials, Status: report.Done, Actions: actions,
		Detail: "role " + role + ": this instance's sessions no longer denied (IAM applies it within seconds), profile and metadata endpoint back"}
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
