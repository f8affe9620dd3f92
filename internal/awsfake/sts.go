package awsfake

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// STS is the fake AWS STS API (awsapi.STS).
type STS struct{ w *World }

// GetCallerIdentity names the account and the (assumed-role) caller.
func (c *STS) GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, _ ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return call(ctx, c.w, svcSTS, "GetCallerIdentity", in, func(*sts.GetCallerIdentityInput) (*sts.GetCallerIdentityOutput, error) {
		return &sts.GetCallerIdentityOutput{
			Account: aws.String(c.w.account),
			Arn:     aws.String(c.w.callerARN()),
			UserId:  aws.String("AROAZ3FIREBREAKEXAMPLE:firebreak-contain"),
		}, nil
	})
}
