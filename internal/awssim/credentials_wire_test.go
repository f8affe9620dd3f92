package awssim_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"

	"github.com/firebreak-ir/firebreak/internal/awssim"
	"github.com/firebreak-ir/firebreak/internal/rolepolicy"
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

// The deny over the wire: requests signed with the contained instance's
// credentials (copied off it before containment) are refused with EC2's and
// SNS's own codes, the sibling's with the same role are served.
func TestStolenCredentialsRefusedOverTheWire(t *testing.T) {
	w, d := demoWorld()
	sim := startSim(t, awssim.Backend{Clients: w.Clients(), STS: w.STS()}, awssim.WithAuthorizer(w.AuthorizeKey))
	stolen, err := w.InstanceAccessKey(d.Victim)
	if err != nil {
		t.Fatal(err)
	}
	sibling, _ := w.InstanceAccessKey(d.Bystander)
	as := func(key string) api {
		cfg := sdkConfig(t, sim, 1)
		cfg.Credentials = credentials.NewStaticCredentialsProvider(key, "secret", "token")
		return sdkClients(cfg, true)
	}
	ctx := context.Background()
	describe := func(c api) error {
		_, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
		return err
	}
	publish := func(c api) error {
		_, err := c.SNS.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(d.Topic), Message: aws.String("x")})
		return err
	}
	if err := describe(as(stolen)); err != nil {
		t.Fatalf("before the deny: %v", err)
	}
	wr := rolepolicy.Writer{IAM: w.Clients().IAM, Account: account, Partition: "aws"}
	if _, err := wr.Set(ctx, d.Role, []string{rolepolicy.InstanceARN("aws", "us-east-1", account, d.Victim)}); err != nil {
		t.Fatal(err)
	}
	var ae smithy.APIError
	if err := describe(as(stolen)); !errors.As(err, &ae) || ae.ErrorCode() != "UnauthorizedOperation" {
		t.Fatalf("EC2 with the stolen credentials after the deny: %v", err)
	}
	if err := publish(as(stolen)); !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Fatalf("SNS with the stolen credentials after the deny: %v", err)
	}
	if err := describe(as(sibling)); err != nil {
		t.Fatalf("the sibling sharing the role was refused: %v", err)
	}
	if err := publish(as(sibling)); err != nil {
		t.Fatalf("the sibling sharing the role was refused: %v", err)
	}
}
