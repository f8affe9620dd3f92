package awssim_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// TestWireMatchesDirectCallsForCredentials covers the IAM service and the EC2
// operations of the credentials step: the same answers, error codes and HTTP
// statuses directly and over the wire, and the same worlds afterwards.
func TestWireMatchesDirectCallsForCredentials(t *testing.T) {
	direct, d := demoWorld()
	wired, _ := demoWorld()
	_, overWire := serve(t, wired)
	straight := api{Clients: direct.Clients(), STS: direct.STS()}
	victimARN := fmt.Sprintf("arn:aws:ec2:us-east-1:%s:instance/%s", account, d.Victim)
	doc := `{"Version":"2012-10-17","Statement":[{"Sid":"FirebreakDenyContainedInstances","Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnEquals":{"ec2:SourceInstanceARN":["` + victimARN + `"]}}}]}`
	policy := "arn:aws:iam::" + account + ":policy/firebreak/firebreak-deny-web-server-1"
	var assoc string
	steps := []wireStep{
		{name: "iam:GetInstanceProfile", call: func(ctx context.Context, c api) (any, error) {
			return c.IAM.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("web-server")})
		}},
		{name: "iam:GetInstanceProfile missing", code: "NoSuchEntity", status: 404, call: func(ctx context.Context, c api) (any, error) {
			return c.IAM.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("none")})
		}},
		{name: "iam:ListRoleTags", call: func(ctx context.Context, c api) (any, error) {
			return c.IAM.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String(d.Role)})
		}},
		{name: "iam:CreatePolicy malformed", code: "MalformedPolicyDocument", status: 400, call: func(ctx context.Context, c api) (any, error) {
			return c.IAM.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("x"), PolicyDocument: aws.String("{")})
		}},
		{name: "iam:CreatePolicy", call: func(ctx context.Context, c api) (any, error) {
			return c.IAM.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("firebreak-deny-web-server-1"), Path: aws.String("/firebreak/"), PolicyDocument: aws.String(doc)})
		}},
		{name: "iam:CreatePolicy again", code: "EntityAlreadyExists", status: 409, call: func(ctx context.Context, c api) (any, error) {
			return c.IAM.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("firebreak-deny-web-server-1"), Path: aws.String("/firebreak/"), PolicyDocument: aws.String(doc)})
		}},
		{name: "iam:CreatePolicyVersion", call: func(ctx context.Context, c api) (any, error) {
			return c.IAM.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(policy), PolicyDocument: aws.String(doc), SetAsDefault: true})
		}},
		{name: "iam:GetPolicy", call: func(ctx context.Context, c api) (any, error) {
			return c.IAM.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(policy)})
		}},
		{name: "iam:GetPolicyVersion", call: func(ctx context.Context, c api) (any, error) {
			return c.IAM.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(policy), VersionId: aws.String("v2")})
		}},
		{name: "iam:ListPolicyVersions", call: func(ctx context.Context, c api) (any, error) {
			return c.IAM.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: aws.String(policy)})
		}},
		{name: "iam:DeletePolicyVersion default", code: "DeleteConflict", status: 409, call: func(ctx context.Context, c api) (any, error) {
			return c.IAM.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(policy), VersionId: aws.String("v2")})
		}},
		{name: "iam:DeletePolicyVersion", call: func(ctx context.Context, c api) (any, error) {
			return c.IAM.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(policy), VersionId: aws.String("v1")})
		}},
		{name: "iam:AttachRolePolicy", call: func(ctx context.Context, c api) (any, error) {
			return c.IAM.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(d.Role), PolicyArn: aws.String(policy)})
		}},
		{name: "iam:ListAttachedRolePolicies", call: func(ctx context.Context, c api) (any, error) {
			return c.IAM.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(d.Role), MaxItems: aws.Int32(1)})
		}},
		{name: "iam:GetRole", call: func(ctx context.Context, c api) (any, error) {
			return c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(d.Role)})
		}},
		{name: "iam:DeletePolicy attached", code: "DeleteConflict", status: 409, call: func(ctx context.Context, c api) (any, error) {
			return c.IAM.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(policy)})
		}},
		{name: "iam:DetachRolePolicy", call: func(ctx context.Context, c api) (any, error) {
			return c.IAM.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(d.Role), PolicyArn: aws.String(policy)})
		}},
		{name: "iam:DeletePolicy", call: func(ctx context.Context, c api) (any, error) {
			return c.IAM.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(policy)})
		}},
		{name: "ec2:DescribeIamInstanceProfileAssociations", after: func(out any) {
			assoc = aws.ToString(out.(*ec2.DescribeIamInstanceProfileAssociationsOutput).IamInstanceProfileAssociations[0].AssociationId)
		}, call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{
				Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: []string{d.Victim}}}})
		}},
		{name: "ec2:DisassociateIamInstanceProfile", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DisassociateIamInstanceProfile(ctx, &ec2.DisassociateIamInstanceProfileInput{AssociationId: aws.String(assoc)})
		}},
		{name: "ec2:DisassociateIamInstanceProfile again", code: "InvalidAssociationID.NotFound", status: 400, call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DisassociateIamInstanceProfile(ctx, &ec2.DisassociateIamInstanceProfileInput{AssociationId: aws.String(assoc)})
		}},
		{name: "ec2:ModifyInstanceMetadataOptions", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(d.Victim),
				HttpEndpoint: ec2types.InstanceMetadataEndpointStateDisabled})
		}},
		{name: "ec2:AssociateIamInstanceProfile", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(d.Victim),
				IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Arn: aws.String(d.InstanceProfileARN)}})
		}},
		{name: "ec2:AssociateIamInstanceProfile again", code: "IncorrectState", status: 400, call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: aws.String(d.Victim),
				IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Arn: aws.String(d.InstanceProfileARN)}})
		}},
	}
	compareOverTheWire(t, straight, overWire, steps)
	assertSame(t, "victim", ptr(direct.Instance(d.Victim)), ptr(wired.Instance(d.Victim)))
	assertSame(t, "role policies", ptr(direct.AttachedPolicies(d.Role)), ptr(wired.AttachedPolicies(d.Role)))
}
