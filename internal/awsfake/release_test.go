package awsfake_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
)

var ctx = context.Background()

func TestDescribeInstanceAttributeOnePerCall(t *testing.T) {
	w, d, c := demo(t)
	w.SetInstanceAttributes(d.Victim, awsfake.InstanceAttributes{DisableAPITermination: true, ShutdownBehavior: types.ShutdownBehaviorTerminate})
	out, err := c.EC2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(d.Victim), Attribute: types.InstanceAttributeNameDisableApiTermination})
	if err != nil || !aws.ToBool(out.DisableApiTermination.Value) || out.InstanceInitiatedShutdownBehavior != nil {
		t.Fatalf("disableApiTermination: %+v %v; want true and nothing else", out, err)
	}
	out, err = c.EC2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(d.Victim), Attribute: types.InstanceAttributeNameInstanceInitiatedShutdownBehavior})
	if err != nil || aws.ToString(out.InstanceInitiatedShutdownBehavior.Value) != "terminate" || out.DisableApiTermination != nil {
		t.Fatalf("shutdown behaviour: %+v %v; want terminate and nothing else", out, err)
	}
	for _, tc := range []struct {
		name string
		in   ec2.DescribeInstanceAttributeInput
		code string
	}{
		{"no attribute", ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(d.Victim)}, "MissingParameter"},
		{"unknown attribute", ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(d.Victim), Attribute: "colour"}, "InvalidParameterValue"},
		{"unknown instance", ec2.DescribeInstanceAttributeInput{InstanceId: aws.String("i-0000000000000dead"), Attribute: types.InstanceAttributeNameDisableApiStop}, "InvalidInstanceID.NotFound"},
		{"dry run", ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(d.Victim), Attribute: types.InstanceAttributeNameDisableApiStop, DryRun: aws.Bool(true)}, "DryRunOperation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.EC2.DescribeInstanceAttribute(ctx, &tc.in)
			wantCode(t, err, tc.code)
		})
	}
}

func TestDescribeNetworkInterfacesByGroup(t *testing.T) {
	w, d, c := demo(t)
	byGroup := func(g string) []string {
		t.Helper()
		out, err := c.EC2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{g}}}})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, ni := range out.NetworkInterfaces {
			ids = append(ids, aws.ToString(ni.NetworkInterfaceId))
		}
		return ids
	}
	bystanderENI := aws.ToString(w.Instance(d.Bystander).NetworkInterfaces[0].NetworkInterfaceId)
	if got, want := byGroup(d.AppGroup), []string{d.VictimENIs[0], d.VictimENIs[1], bystanderENI}; !slices.Equal(got, want) {
		t.Errorf("interfaces in app = %v, want %v", got, want)
	}
	if got := byGroup(d.DefaultGroup); len(got) != 0 {
		t.Errorf("interfaces in the default group = %v, want none", got)
	}
	w.RemoveNetworkInterface(d.VictimENIs[1])
	if got, want := byGroup(d.AppGroup), []string{d.VictimENIs[0], bystanderENI}; !slices.Equal(got, want) {
		t.Errorf("after removing eth1: %v, want %v", got, want)
	}
	if n := len(w.Instance(d.Victim).NetworkInterfaces); n != 1 {
		t.Errorf("the victim lists %d interfaces after eth1 was removed, want 1", n)
	}
	_, err := c.EC2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{d.VictimENIs[1]}})
	wantCode(t, err, "InvalidNetworkInterfaceID.NotFound")
	_, err = c.EC2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{{Name: aws.String("colour"), Values: []string{"x"}}}})
	wantCode(t, err, "InvalidParameterValue")
}

func TestDeleteSecurityGroup(t *testing.T) {
	w, d, c := demo(t)
	del := func(id string, dry bool) error {
		_, err := c.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id), DryRun: aws.Bool(dry)})
		return err
	}
	// In use by interfaces, referenced by app's rule, the default group.
	wantCode(t, del(d.AppGroup, false), "DependencyViolation")
	unused := w.AddSecurityGroup(d.VPC, "spare")
	referenced := w.AddSecurityGroup(d.VPC, "referenced")
	_, err := c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(unused),
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("-1"), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(referenced)}}}}})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, del(referenced, false), "DependencyViolation")
	wantCode(t, del(d.DefaultGroup, false), "CannotDelete")
	wantCode(t, del(unused, true), "DryRunOperation")
	if w.SecurityGroup(unused).GroupId == nil {
		t.Fatal("a dry run deleted the group")
	}
	if err := del(unused, false); err != nil {
		t.Fatal(err)
	}
	if w.SecurityGroup(unused).GroupId != nil {
		t.Fatal("the group is still there")
	}
	wantCode(t, del(unused, false), "InvalidGroup.NotFound")
	// Its rules went with it; the referenced group is free now.
	if err := del(referenced, false); err != nil {
		t.Errorf("deleting a group no longer referenced: %v", err)
	}
}

func TestDeleteNetworkAclEntry(t *testing.T) {
	w, d, c := demo(t)
	add := func(rule int32) {
		_, err := c.EC2.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{NetworkAclId: aws.String(d.NetworkACL), RuleNumber: aws.Int32(rule),
			Egress: aws.Bool(true), Protocol: aws.String("-1"), RuleAction: types.RuleActionDeny, CidrBlock: aws.String("10.0.1.10/32")})
		if err != nil {
			t.Fatal(err)
		}
	}
	del := func(rule int32, egress, dry bool) error {
		_, err := c.EC2.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{NetworkAclId: aws.String(d.NetworkACL), RuleNumber: aws.Int32(rule),
			Egress: aws.Bool(egress), DryRun: aws.Bool(dry)})
		return err
	}
	add(99)
	before := entries(w.NetworkACL(d.NetworkACL))
	wantCode(t, del(99, false, false), "InvalidNetworkAclEntry.NotFound") // egress entry, asked as ingress
	wantCode(t, del(99, true, true), "DryRunOperation")
	if got := entries(w.NetworkACL(d.NetworkACL)); !slices.Equal(got, before) {
		t.Fatalf("a failed or dry-run delete changed the ACL: %v", got)
	}
	if err := del(99, true, false); err != nil {
		t.Fatal(err)
	}
	if got := entries(w.NetworkACL(d.NetworkACL)); slices.Contains(got, "out 99 deny 10.0.1.10/32") {
		t.Errorf("entry still there: %v", got)
	}
	wantCode(t, del(99, true, false), "InvalidNetworkAclEntry.NotFound")
	wantCode(t, del(32767, true, false), "InvalidParameterValue")
	_, err := c.EC2.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{NetworkAclId: aws.String("acl-0000000000000dead"), RuleNumber: aws.Int32(1), Egress: aws.Bool(true)})
	wantCode(t, err, "InvalidNetworkAclID.NotFound")
}

func TestAttachInstancesRespectsMaxSize(t *testing.T) {
	w, d, c := demo(t)
	if _, err := c.AutoScaling.DetachInstances(ctx, &autoscaling.DetachInstancesInput{AutoScalingGroupName: aws.String(d.ASG),
		InstanceIds: []string{d.Victim}, ShouldDecrementDesiredCapacity: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	attach := func(ids ...string) error {
		_, err := c.AutoScaling.AttachInstances(ctx, &autoscaling.AttachInstancesInput{AutoScalingGroupName: aws.String(d.ASG), InstanceIds: ids})
		return err
	}
	// The detach launched a replacement: attaching the victim back makes two.
	if err := attach(d.Victim); err != nil {
		t.Fatalf("attaching the detached victim: %v", err)
	}
	g := w.AutoScalingGroup(d.ASG)
	if aws.ToInt32(g.DesiredCapacity) != 2 || len(g.Instances) != 2 || aws.ToString(g.Instances[1].InstanceId) != d.Victim || g.Instances[1].LifecycleState != "InService" {
		t.Fatalf("after attach: desired %d, members %+v; want 2, the victim InService", aws.ToInt32(g.DesiredCapacity), g.Instances)
	}
	if !slices.Contains(w.ClassicLBInstances(d.ClassicLB), d.Victim) {
		t.Error("attached instance not registered with the group's classic load balancer")
	}
	wantCode(t, attach(d.Victim), "ValidationError") // already in the group
	// max 3, desired 2: one more fits, then none.
	if err := attach(d.Bystander); err != nil {
		t.Fatalf("attaching to desired 2 of max 3: %v", err)
	}
	extra := w.AddInstance(awsfake.InstanceSpec{Subnet: d.SubnetA})
	err := attach(extra)
	wantCode(t, err, "ValidationError")
	if g := w.AutoScalingGroup(d.ASG); aws.ToInt32(g.DesiredCapacity) != 3 || aws.ToInt32(g.MaxSize) != 3 {
		t.Errorf("a refused attach changed the group: desired %d max %d", aws.ToInt32(g.DesiredCapacity), aws.ToInt32(g.MaxSize))
	}
	out, err := c.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{d.ASG, "no-such-group"}})
	if err != nil || len(out.AutoScalingGroups) != 1 || aws.ToInt32(out.AutoScalingGroups[0].MaxSize) != 3 {
		t.Fatalf("DescribeAutoScalingGroups: %+v %v; want the one group that exists", out, err)
	}
	wantCode(t, func() error {
		_, err := c.AutoScaling.AttachInstances(ctx, &autoscaling.AttachInstancesInput{AutoScalingGroupName: aws.String("no-such-group"), InstanceIds: []string{extra}})
		return err
	}(), "ValidationError")
}

func TestRegisterWithLoadBalancers(t *testing.T) {
	w, d, c := demo(t)
	if _, err := c.ELB.DeregisterInstancesFromLoadBalancer(ctx, &elb.DeregisterInstancesFromLoadBalancerInput{LoadBalancerName: aws.String(d.ClassicLB),
		Instances: []elbtypes.Instance{{InstanceId: aws.String(d.Victim)}}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.ELB.RegisterInstancesWithLoadBalancer(ctx, &elb.RegisterInstancesWithLoadBalancerInput{LoadBalancerName: aws.String(d.ClassicLB),
		Instances: []elbtypes.Instance{{InstanceId: aws.String(d.Victim)}}})
	if err != nil || len(out.Instances) != 2 {
		t.Fatalf("register: %+v %v; want both instances listed", out, err)
	}
	_, err = c.ELB.RegisterInstancesWithLoadBalancer(ctx, &elb.RegisterInstancesWithLoadBalancerInput{LoadBalancerName: aws.String("nope"),
		Instances: []elbtypes.Instance{{InstanceId: aws.String(d.Victim)}}})
	wantCode(t, err, "LoadBalancerNotFound")

	// A target with a port override comes back on that port, initial until
	// its health checks pass; registering it again changes nothing.
	dereg := &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(d.IPTargetGroup), Targets: []elbv2types.TargetDescription{{Id: aws.String(d.VictimPrimaryIP), Port: aws.Int32(8443)}}}
	if _, err := c.ELBV2.DeregisterTargets(ctx, dereg); err != nil {
		t.Fatal(err)
	}
	w.Advance(awsfake.DeregistrationDelay)
	reg := &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(d.IPTargetGroup), Targets: dereg.Targets}
	for range 2 {
		if _, err := c.ELBV2.RegisterTargets(ctx, reg); err != nil {
			t.Fatal(err)
		}
	}
	state := func() []string {
		var out []string
		for _, th := range w.Targets(d.IPTargetGroup) {
			out = append(out, aws.ToString(th.Target.Id)+":"+string(th.TargetHealth.State))
		}
		return out
	}
	if got, want := state(), []string{d.BystanderIP + ":healthy", d.VictimPrimaryIP + ":initial"}; !slices.Equal(got, want) {
		t.Errorf("targets = %v, want %v", got, want)
	}
	w.Advance(awsfake.HealthCheckDelay)
	if got, want := state(), []string{d.BystanderIP + ":healthy", d.VictimPrimaryIP + ":healthy"}; !slices.Equal(got, want) {
		t.Errorf("after the health checks: %v, want %v", got, want)
	}
	_, err = c.ELBV2.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(d.TargetGroup), Targets: []elbv2types.TargetDescription{{Id: aws.String("i-0000000000000dead")}}})
	wantCode(t, err, "InvalidTarget")
	_, err = c.ELBV2.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(d.TargetGroup + "x"), Targets: reg.Targets})
	wantCode(t, err, "TargetGroupNotFound")
}

func TestVersionedObjects(t *testing.T) {
	w, d, c := demo(t)
	put := func(body string) *s3.PutObjectOutput {
		sum := sha256.Sum256([]byte(body))
		out, err := c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(d.Bucket), Key: aws.String("a/capture.json"), Body: bytes.NewReader([]byte(body)),
			ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum[:]))})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	first, second := put("first"), put("second")
	if aws.ToString(first.VersionId) == "" || aws.ToString(first.VersionId) == aws.ToString(second.VersionId) {
		t.Fatalf("version ids %q, %q: want two distinct", aws.ToString(first.VersionId), aws.ToString(second.VersionId))
	}
	get := func(version string, mode s3types.ChecksumMode) (*s3.GetObjectOutput, string, error) {
		out, err := c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(d.Bucket), Key: aws.String("a/capture.json"), VersionId: aws.String(version), ChecksumMode: mode})
		if err != nil {
			return nil, "", err
		}
		b, _ := io.ReadAll(out.Body)
		return out, string(b), nil
	}
	out, body, err := get(aws.ToString(first.VersionId), s3types.ChecksumModeEnabled)
	sum := sha256.Sum256([]byte("first"))
	if err != nil || body != "first" || aws.ToString(out.ChecksumSHA256) != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Fatalf("first version: %q %+v %v", body, out, err)
	}
	if out, _, _ := get(aws.ToString(first.VersionId), ""); out.ChecksumSHA256 != nil {
		t.Error("checksum returned without ChecksumMode")
	}
	_, _, err = get("vdoesnotexist", "")
	wantCode(t, err, "NoSuchVersion")
	// Tampered bytes keep the recorded checksum, which no longer matches.
	w.TamperObject(d.Bucket, "a/capture.json", aws.ToString(first.VersionId), func(b []byte) []byte { b[0] ^= 1; return b })
	out, body, _ = get(aws.ToString(first.VersionId), s3types.ChecksumModeEnabled)
	if body == "first" || aws.ToString(out.ChecksumSHA256) != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("tampered object: body %q, checksum %s", body, aws.ToString(out.ChecksumSHA256))
	}

	// An unversioned bucket has only the "null" version.
	w.AddBucket("plain")
	if _, err := c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("plain"), Key: aws.String("k"), Body: bytes.NewReader([]byte("x"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("plain"), Key: aws.String("k"), VersionId: aws.String("null")}); err != nil {
		t.Errorf("null version: %v", err)
	}
	_, err = c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("plain"), Key: aws.String("k"), VersionId: aws.String("v1")})
	wantCode(t, err, "InvalidArgument")
	_, err = c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("plain"), Key: aws.String("missing")})
	wantCode(t, err, "NoSuchKey")
}

func TestListObjectsV2Pages(t *testing.T) {
	_, d, c := demo(t)
	for _, k := range []string{"p/report-2.json", "p/capture.json", "q/report-1.json", "p/report-1.json"} {
		if _, err := c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(d.Bucket), Key: aws.String(k), Body: bytes.NewReader([]byte(k))}); err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	p := s3.NewListObjectsV2Paginator(c.S3, &s3.ListObjectsV2Input{Bucket: aws.String(d.Bucket), Prefix: aws.String("p/report-"), MaxKeys: aws.Int32(1)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	if want := []string{"p/report-1.json", "p/report-2.json"}; !slices.Equal(keys, want) || pages != 2 {
		t.Errorf("listed %v in %d pages, want %v in 2", keys, pages, want)
	}
	_, err := c.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("nope")})
	wantCode(t, err, "NoSuchBucket")
}
