package awsfake_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
)

func denyDoc(arns ...string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnEquals":{"ec2:SourceInstanceARN":["%s"]}}}]}`,
		strings.Join(arns, `","`))
}

func TestManagedPolicyLimitsAndCodes(t *testing.T) {
	w, d, c := demo(t)
	ctx := context.Background()
	_, err := c.IAM.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), Path: aws.String("/firebreak/"), PolicyDocument: aws.String("{not json")})
	wantCode(t, err, "MalformedPolicyDocument")
	// 6,144 characters without whitespace: whitespace does not count.
	big := denyDoc(strings.Repeat("a", awsfake.MaxManagedPolicyChars))
	_, err = c.IAM.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), Path: aws.String("/firebreak/"), PolicyDocument: aws.String(big)})
	wantCode(t, err, "LimitExceeded")
	fits := denyDoc(strings.Repeat("a", awsfake.MaxManagedPolicyChars-len(denyDoc()))) + strings.Repeat(" \n", 500)
	out, err := c.IAM.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), Path: aws.String("/firebreak/"), PolicyDocument: aws.String(fits)})
	if err != nil {
		t.Fatalf("a document of exactly 6,144 non-whitespace characters: %v", err)
	}
	arn := aws.ToString(out.Policy.Arn)
	if arn != "arn:aws:iam::123456789012:policy/firebreak/p" || aws.ToString(out.Policy.DefaultVersionId) != "v1" || !strings.HasPrefix(aws.ToString(out.Policy.PolicyId), "ANPA") {
		t.Fatalf("policy = %+v", out.Policy)
	}
	_, err = c.IAM.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), Path: aws.String("/other/"), PolicyDocument: aws.String(denyDoc("x"))})
	wantCode(t, err, "EntityAlreadyExists")

	// Five versions at most; the default cannot be deleted.
	for i := 2; i <= awsfake.MaxPolicyVersions; i++ {
		if _, err := c.IAM.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: &arn, PolicyDocument: aws.String(denyDoc(fmt.Sprint(i))), SetAsDefault: true}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.IAM.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: &arn, PolicyDocument: aws.String(denyDoc("6")), SetAsDefault: true})
	wantCode(t, err, "LimitExceeded")
	_, err = c.IAM.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: &arn, VersionId: aws.String("v5")})
	wantCode(t, err, "DeleteConflict")
	if _, err := c.IAM.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: &arn, VersionId: aws.String("v1")}); err != nil {
		t.Fatal(err)
	}
	vs, _ := c.IAM.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: &arn})
	if len(vs.Versions) != 4 || aws.ToString(vs.Versions[0].VersionId) != "v5" || !vs.Versions[0].IsDefaultVersion {
		t.Fatalf("versions = %+v", vs.Versions)
	}
	// Documents come back URL-encoded, as IAM returns them.
	v, err := c.IAM.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: &arn, VersionId: aws.String("v5")})
	if err != nil {
		t.Fatal(err)
	}
	if raw := aws.ToString(v.PolicyVersion.Document); strings.Contains(raw, `"`) {
		t.Fatalf("document not URL-encoded: %s", raw)
	} else if dec, _ := url.QueryUnescape(raw); dec != denyDoc("5") {
		t.Fatalf("decoded document = %s", dec)
	}

	// Attached: cannot be deleted; quota per role.
	if _, err := c.IAM.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: &d.Role, PolicyArn: &arn}); err != nil {
		t.Fatal(err)
	}
	_, err = c.IAM.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: &arn})
	wantCode(t, err, "DeleteConflict")
	w.SetManagedPolicyQuota(2) // the SSM policy and p
	other, _ := c.IAM.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("q"), Path: aws.String("/firebreak/"), PolicyDocument: aws.String(denyDoc("q"))})
	_, err = c.IAM.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: &d.Role, PolicyArn: other.Policy.Arn})
	wantCode(t, err, "LimitExceeded")
	_, err = c.IAM.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("nobody"), PolicyArn: other.Policy.Arn})
	wantCode(t, err, "NoSuchEntity")
	_, err = c.IAM.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String("arn:aws:iam::123456789012:policy/firebreak/none")})
	wantCode(t, err, "NoSuchEntity")

	// Paged listing.
	page, err := c.IAM.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: &d.Role, MaxItems: aws.Int32(1)})
	if err != nil || len(page.AttachedPolicies) != 1 || !page.IsTruncated {
		t.Fatalf("page 1: %v %+v", err, page)
	}
	page, err = c.IAM.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: &d.Role, Marker: page.Marker})
	if err != nil || len(page.AttachedPolicies) != 1 || page.IsTruncated || aws.ToString(page.AttachedPolicies[0].PolicyArn) != arn {
		t.Fatalf("page 2: %v %+v", err, page)
	}

	// Detach, delete the other versions, delete.
	if _, err := c.IAM.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: &d.Role, PolicyArn: &arn}); err != nil {
		t.Fatal(err)
	}
	_, err = c.IAM.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: &arn})
	wantCode(t, err, "DeleteConflict") // non-default versions left
	for _, id := range []string{"v2", "v3", "v4"} {
		if _, err := c.IAM.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: &arn, VersionId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.IAM.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: &arn}); err != nil {
		t.Fatal(err)
	}
	_, err = c.IAM.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: &d.Role, PolicyArn: &arn})
	wantCode(t, err, "NoSuchEntity")
}

func TestInstanceProfileOperations(t *testing.T) {
	_, d, c := demo(t)
	ctx := context.Background()
	prof, err := c.IAM.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("web-server")})
	if err != nil || len(prof.InstanceProfile.Roles) != 1 || aws.ToString(prof.InstanceProfile.Roles[0].RoleName) != d.Role ||
		!strings.HasPrefix(aws.ToString(prof.InstanceProfile.Roles[0].RoleId), "AROA") {
		t.Fatalf("profile: %v %+v", err, prof)
	}
	desc, _ := c.EC2.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{})
	var assoc string
	for _, a := range desc.IamInstanceProfileAssociations {
		if aws.ToString(a.InstanceId) == d.Victim {
			assoc = aws.ToString(a.AssociationId)
		}
	}
	_, err = c.EC2.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: &d.Victim,
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Arn: &d.InstanceProfileARN}})
	wantCode(t, err, "IncorrectState")
	if _, err := c.EC2.DisassociateIamInstanceProfile(ctx, &ec2.DisassociateIamInstanceProfileInput{AssociationId: &assoc}); err != nil {
		t.Fatal(err)
	}
	_, err = c.EC2.DisassociateIamInstanceProfile(ctx, &ec2.DisassociateIamInstanceProfileInput{AssociationId: &assoc})
	wantCode(t, err, "InvalidAssociationID.NotFound")
	_, err = c.EC2.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: &d.Victim,
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Arn: aws.String("arn:aws:iam::123456789012:instance-profile/none")}})
	wantCode(t, err, "InvalidParameterValue")
	again, err := c.EC2.AssociateIamInstanceProfile(ctx, &ec2.AssociateIamInstanceProfileInput{InstanceId: &d.Victim,
		IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Arn: &d.InstanceProfileARN}})
	if err != nil || aws.ToString(again.IamInstanceProfileAssociation.AssociationId) == assoc {
		t.Fatalf("re-associate: %v %+v (a new association id is expected)", err, again)
	}

	_, err = c.EC2.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: &d.Victim, HttpEndpoint: "off"})
	wantCode(t, err, "InvalidParameterValue")
	if _, err := c.EC2.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: &d.Victim, HttpEndpoint: ec2types.InstanceMetadataEndpointStateDisabled}); err != nil {
		t.Fatal(err)
	}
	out, _ := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{d.Victim}})
	mo := out.Reservations[0].Instances[0].MetadataOptions
	if mo.HttpEndpoint != ec2types.InstanceMetadataEndpointStateDisabled || mo.HttpTokens != ec2types.HttpTokensStateRequired {
		t.Fatalf("metadata options = %+v: only the endpoint should change", mo)
	}
}

// The deny Firebreak writes reaches the contained instance's sessions wherever
// they are used, including copies fetched before the profile was cut, and
// never the sibling that shares the role.
func TestAuthorizeSourceInstanceDeny(t *testing.T) {
	w, d, c := demo(t)
	ctx := context.Background()
	victim, err := w.InstanceCredentials(d.Victim)
	if err != nil {
		t.Fatal(err)
	}
	sibling, err := w.InstanceCredentials(d.Bystander)
	if err != nil {
		t.Fatal(err)
	}
	if victim.Role != d.Role || sibling.Role != d.Role || victim.Session != d.Victim ||
		victim.SourceInstanceARN != "arn:aws:ec2:us-east-1:123456789012:instance/"+d.Victim {
		t.Fatalf("credentials = %+v, %+v", victim, sibling)
	}
	if err := w.Authorize(victim, "s3:GetObject"); err != nil {
		t.Fatalf("before the deny: %v", err)
	}
	p, err := c.IAM.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("firebreak-deny-web-server-1"), Path: aws.String("/firebreak/"),
		PolicyDocument: aws.String(denyDoc(victim.SourceInstanceARN))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.IAM.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: &d.Role, PolicyArn: p.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, w.Authorize(victim, "s3:GetObject"), "AccessDenied")
	wantCode(t, w.Authorize(victim, "iam:CreateUser"), "AccessDenied")
	if err := w.Authorize(sibling, "s3:GetObject"); err != nil {
		t.Fatalf("the sibling sharing the role was denied: %v", err)
	}
	// A session of the role that EC2 did not issue (no source instance) is not denied.
	if err := w.Authorize(awsfake.Principal{Account: victim.Account, Role: d.Role, Session: "person"}, "s3:GetObject"); err != nil {
		t.Fatalf("a non-instance session was denied: %v", err)
	}
	// Cut the profile and the endpoint: no new credentials; the copy stays denied.
	desc, _ := c.EC2.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{})
	for _, a := range desc.IamInstanceProfileAssociations {
		if aws.ToString(a.InstanceId) == d.Victim {
			if _, err := c.EC2.DisassociateIamInstanceProfile(ctx, &ec2.DisassociateIamInstanceProfileInput{AssociationId: a.AssociationId}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := w.InstanceCredentials(d.Victim); err == nil {
		t.Fatal("credentials delivered without a profile")
	}
	wantCode(t, w.Authorize(victim, "s3:GetObject"), "AccessDenied")
	w.SetMetadataOptions(d.Bystander, "disabled", "required")
	if _, err := w.InstanceCredentials(d.Bystander); err == nil {
		t.Fatal("credentials delivered with the metadata endpoint disabled")
	}
}
