package awsclient

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/smithy-go"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/config"
	"github.com/firebreak-ir/firebreak/internal/contract"
)

// DefaultMemberRole is the member role's name unless cdk.json says otherwise.
const DefaultMemberRole = contract.DefaultMemberRole

// Member role sessions last STS's minimum, 15 minutes: a containment takes
// seconds, and a leaked set of credentials is worth little for long. The
// cache refreshes them a minute before they expire, so no call is signed
// with credentials about to lapse.
const (
	MemberSessionDuration = 15 * time.Minute
	memberExpiryWindow    = time.Minute
)

// ErrMemberRoleMissing means the member account has no member role the
// function may assume (the role is missing, or its trust refuses the
// function): STS answers both with AccessDenied.
var ErrMemberRoleMissing = errors.New("member role missing")

// MemberRoleError is ErrMemberRoleMissing for one account.
type MemberRoleError struct {
	Account string
	RoleARN string
	Err     error // STS's answer
}

func (e *MemberRoleError) Error() string {
	return MemberRoleMissing(e.Account) + fmt.Sprintf(" (sts:AssumeRole of %s: %v)", e.RoleARN, e.Err)
}

func (e *MemberRoleError) Is(target error) bool { return target == ErrMemberRoleMissing }
func (e *MemberRoleError) Unwrap() error        { return e.Err }

// MemberRoleMissing is what a report says when a member account cannot be reached.
func MemberRoleMissing(account string) string {
	return fmt.Sprintf("member role missing in %s; deploy the member stack there", account)
}

// Members says in which accounts besides its own the function acts, and how
// it reaches them. The zero value is a single-account deployment.
type Members struct {
	// Role is the member role's name in every member account.
	Role string
	// Accounts are the member accounts (cdk.json memberAccounts).
	Accounts []string
	// Organization admits any account: the member role's trust policy
	// requires the caller to belong to the organization (cdk.json organization).
	Organization bool
	// Session is the role session name. It names the function, not the
	// case: one AssumeRole then serves every case of a credentials lifetime,
	// and each request names its case in the User-Agent (see WithCase).
	Session string
	// Partition of the member role ARNs: aws, aws-cn, aws-us-gov.
	Partition string
}

// MembersOf reads the member accounts from the function's configuration;
// session names the function (firebreak-contain, firebreak-release).
func MembersOf(cfg config.Config, session string) Members {
	return Members{Role: cfg.MemberRole, Accounts: cfg.MemberAccounts, Organization: cfg.Organization,
		Session: session, Partition: cfg.Partition()}
}

// Enabled reports whether any account besides the function's own is served.
func (m Members) Enabled() bool { return m.Organization || len(m.Accounts) > 0 }

// RoleARN is the member role's ARN in an account.
func (m Members) RoleARN(account string) string {
	partition := m.Partition
	if partition == "" {
		partition = "aws"
	}
	role := m.Role
	if role == "" {
		role = DefaultMemberRole
	}
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, account, role)
}

// Admits returns nil when the function may act in account, which is not
// its own, and otherwise an ErrOtherAccount that says why not.
func (m Members) Admits(account, own string) error {
	switch {
	case !m.Enabled():
		return fmt.Errorf("%w: %s, while Firebreak runs in %s (cross-account containment is not configured)", ErrOtherAccount, account, own)
	case m.Organization || slices.Contains(m.Accounts, account):
		return nil
	}
	return fmt.Errorf("%w: %s is not one of the member accounts Firebreak serves (%s); add it to memberAccounts and deploy the member stack there",
		ErrOtherAccount, account, strings.Join(m.Accounts, ", "))
}

// memberCredentials are the cached credentials of one member account's
// role: the cache assumes the role on first use and again shortly before
// the credentials expire, never per request or per case, and concurrent
// callers share one AssumeRole.
func (f *Factory) memberCredentials(account string) *aws.CredentialsCache {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.creds[account]; ok {
		return c
	}
	provider := stscreds.NewAssumeRoleProvider(f.sts, f.members.RoleARN(account), func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = f.members.Session
		o.Duration = MemberSessionDuration
	})
	c := aws.NewCredentialsCache(provider, func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = memberExpiryWindow })
	f.creds[account] = c
	return c
}

// reachMember makes sure the member role can be assumed, so that a missing
// role shows before the runbook starts rather than as seven failed steps.
func (f *Factory) reachMember(ctx context.Context, account string) (*aws.CredentialsCache, error) {
	creds := f.memberCredentials(account)
	if _, err := creds.Retrieve(ctx); err != nil {
		return nil, AssumeRoleError(account, f.members.RoleARN(account), err)
	}
	return creds, nil
}

// AssumeRoleError says what a failed AssumeRole of a member role means:
// AccessDenied (no such role, or a trust that refuses) is a
// *MemberRoleError; anything else (throttling, an outage) stays what it
// is, worth a retry.
func AssumeRoleError(account, roleARN string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "AccessDenied" {
		return &MemberRoleError{Account: account, RoleARN: roleARN, Err: ae}
	}
	return fmt.Errorf("assuming %s: %w", roleARN, err)
}

// securityAccountServices are the clients that act in the function's own
// account whatever account the instance is in: the evidence bucket and the
// report topic belong where a member's admin cannot reach them. Services
// with state in the security account (the guard's table, Security Hub
// write-back) join them here.
func securityAccountServices(member *awsapi.Clients, own awsapi.Clients) {
	member.S3 = own.S3
	member.SNS = own.SNS
	// The blast-radius guard and the report records are the security
	// account's; the guard's keys name the member account, so its cap holds
	// per member.
	member.DynamoDB = own.DynamoDB
	// The security account is the Security Hub administrator: it updates
	// every member's findings, so the write-back needs no member grant.
	member.SecurityHub = own.SecurityHub
}
