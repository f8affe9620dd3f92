package awssim_test

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
)

func (e *echo) LockSnapshot(_ context.Context, in *ec2.LockSnapshotInput, _ ...func(*ec2.Options)) (*ec2.LockSnapshotOutput, error) {
	return answer[ec2.LockSnapshotOutput](e, "ec2:LockSnapshot", in)
}
func (e *echo) DescribeLockedSnapshots(_ context.Context, in *ec2.DescribeLockedSnapshotsInput, _ ...func(*ec2.Options)) (*ec2.DescribeLockedSnapshotsOutput, error) {
	return answer[ec2.DescribeLockedSnapshotsOutput](e, "ec2:DescribeLockedSnapshots", in)
}

func (e *echo) BatchUpdateFindings(_ context.Context, in *securityhub.BatchUpdateFindingsInput, _ ...func(*securityhub.Options)) (*securityhub.BatchUpdateFindingsOutput, error) {
	return answer[securityhub.BatchUpdateFindingsOutput](e, "securityhub:BatchUpdateFindings", in)
}
func (e *echo) BatchUpdateFindingsV2(_ context.Context, in *securityhub.BatchUpdateFindingsV2Input, _ ...func(*securityhub.Options)) (*securityhub.BatchUpdateFindingsV2Output, error) {
	return answer[securityhub.BatchUpdateFindingsV2Output](e, "securityhub:BatchUpdateFindingsV2", in)
}
