package awsfake

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/awsclient"
)

// Factory hands the world's clients to code that asks per account and Region,
// as awsclient.Factory does against real AWS.
type Factory struct{ W *World }

// Region is the world's Region.
func (f Factory) Region() string { return f.W.Region() }

// For returns the world's clients for its own account and Region; any other
// account is refused the way the real factory refuses it.
func (f Factory) For(_ context.Context, account, region string) (awsapi.Clients, error) {
	if account != "" && account != f.W.Account() {
		return awsapi.Clients{}, awsclient.Members{}.Admits(account, f.W.Account())
	}
	if region != "" && region != f.W.Region() {
		return awsapi.Clients{}, fmt.Errorf("no simulated Region %s (the world is %s)", region, f.W.Region())
	}
	return f.W.Clients(), nil
}

// OwnAccount is the world's account.
func (f Factory) OwnAccount(context.Context) (string, error) { return f.W.Account(), nil }

// OrgFactory is Factory for an organization: the function runs in Own's
// world, and reaches a member's world the way awsclient.Factory does, by
// assuming the member role through STS (once per account; the fake's
// credentials do not expire within a test), with the evidence bucket and
// report topic still those of Own.
type OrgFactory struct {
	Own     *World
	Members awsclient.Members

	mu      sync.Mutex
	reached map[string]bool
}

// Region is the function's Region.
func (f *OrgFactory) Region() string { return f.Own.Region() }

// OwnAccount is the function's account.
func (f *OrgFactory) OwnAccount(context.Context) (string, error) { return f.Own.Account(), nil }

// For returns an account's clients, as awsclient.Factory.For does.
func (f *OrgFactory) For(ctx context.Context, account, region string) (awsapi.Clients, error) {
	own := f.Own.Account()
	if region != "" && region != f.Own.Region() {
		return awsapi.Clients{}, fmt.Errorf("no simulated Region %s (the world is %s)", region, f.Own.Region())
	}
	if account == "" || account == own {
		return f.Own.Clients(), nil
	}
	if err := f.Members.Admits(account, own); err != nil {
		return awsapi.Clients{}, err
	}
	if err := f.assume(ctx, account); err != nil {
		return awsapi.Clients{}, err
	}
	member := f.Own.accountWorld(account).Clients()
	ownSet := f.Own.Clients()
	member.S3, member.SNS = ownSet.S3, ownSet.SNS
	return member, nil
}

func (f *OrgFactory) assume(ctx context.Context, account string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reached[account] {
		return nil
	}
	arn := f.Members.RoleARN(account)
	_, err := f.Own.STS().AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(arn),
		RoleSessionName: aws.String(f.Members.Session), DurationSeconds: aws.Int32(int32(awsclient.MemberSessionDuration.Seconds()))})
	if err != nil {
		return awsclient.AssumeRoleError(account, arn, err)
	}
	if f.reached == nil {
		f.reached = map[string]bool{}
	}
	f.reached[account] = true
	return nil
}
