package awsfake

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// STS is the fake AWS STS API (awsapi.STS), called by one principal.
type STS struct {
	w      *World
	caller Principal
}

// GetCallerIdentity names the account and the (assumed-role) caller.
func (c *STS) GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, _ ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return call(ctx, c.w, svcSTS, "GetCallerIdentity", in, func(*sts.GetCallerIdentityInput) (*sts.GetCallerIdentityOutput, error) {
		return &sts.GetCallerIdentityOutput{
			Account: aws.String(c.caller.Account),
			Arn:     aws.String(c.caller.ARN()),
			UserId:  aws.String("AROAZ3FIREBREAKEXAMPLE:" + c.caller.Session),
		}, nil
	})
}

// STS's limits on AssumeRole (API reference): session names of 2-64
// characters from [\w+=,.@-], durations from 15 minutes to 12 hours and at
// most the role's MaxSessionDuration.
var (
	sessionName   = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	roleARN       = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\w+=,.@/-]*/)?([\w+=,.@-]{1,64})$`)
	minSession    = 15 * time.Minute
	maxSessionCap = 12 * time.Hour
)

// AssumeRole hands out credentials for a role in any account of the
// caller's organization (or the caller's own) whose trust policy admits the
// caller. A missing role and a trust that says no are the same AccessDenied,
// as in AWS.
func (c *STS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	// The target role lives in another world: the caller's world is not
	// held locked while it is read.
	if err := c.w.begin(ctx, svcSTS, "AssumeRole"); err != nil {
		return nil, err
	}
	if in == nil {
		in = &sts.AssumeRoleInput{}
	}
	arn, session := aws.ToString(in.RoleArn), aws.ToString(in.RoleSessionName)
	duration := time.Hour
	if in.DurationSeconds != nil {
		duration = time.Duration(*in.DurationSeconds) * time.Second
	}
	m := roleARN.FindStringSubmatch(arn)
	switch {
	case arn == "":
		return nil, errMissing("RoleArn")
	case session == "":
		return nil, errMissing("RoleSessionName")
	case m == nil:
		return nil, validationError("1 validation error detected: Value '%s' at 'roleArn' failed to satisfy constraint: Member must be a role ARN", arn)
	case !sessionName.MatchString(session):
		return nil, validationError("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: "+
			"Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64", session)
	case duration < minSession || duration > maxSessionCap:
		return nil, validationError("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: "+
			"Member must have value between 900 and 43200", aws.ToInt32(in.DurationSeconds))
	}
	denied := apiError("AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", c.caller.ARN(), arn)
	target := c.w.accountWorld(m[1])
	if target == nil {
		return nil, denied
	}
	r, ok := target.role(m[2])
	if !ok || !r.trusts(c.caller, c.w.orgID(c.caller.Account)) {
		return nil, denied
	}
	if duration > r.maxSession {
		return nil, validationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	p := Principal{Account: target.Account(), Role: r.name, Session: session}
	expires := target.Now().Add(duration)
	key := c.w.issue(p, expires)
	return &sts.AssumeRoleOutput{
		Credentials: &ststypes.Credentials{
			AccessKeyId:     aws.String(key),
			SecretAccessKey: aws.String("fake-secret-" + strings.ToLower(key)),
			SessionToken:    aws.String("fake-session-token-" + key),
			Expiration:      aws.Time(expires),
		},
		AssumedRoleUser: &ststypes.AssumedRoleUser{
			Arn:           aws.String(p.ARN()),
			AssumedRoleId: aws.String("AROAZ3FIREBREAKMEMBER:" + session),
		},
	}, nil
}
