package awsfake_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
)

const (
	security = "111111111111"
	member   = "222222222222"
	outsider = "333333333333"
	orgID    = "o-exampleorg1"
)

// org is a security account and a member in one organization, and an
// outsider account in none, each with its own world.
func org(t *testing.T) (*awsfake.Organization, *awsfake.World, *awsfake.World, *awsfake.World) {
	t.Helper()
	sec, mem, out := awsfake.New(security, region), awsfake.New(member, region), awsfake.New(outsider, region)
	o := awsfake.NewOrganization(orgID, sec, mem)
	return o, sec, mem, out
}

func assume(sec *awsfake.World, arn, session string, seconds int32) (*sts.AssumeRoleOutput, error) {
	return sec.STS().AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String(arn),
		RoleSessionName: aws.String(session), DurationSeconds: aws.Int32(seconds)})
}

func TestAssumeRoleChecksTheTrustPolicy(t *testing.T) {
	function := awsfake.FunctionPrincipal(security).RoleARN()
	tests := []struct {
		name    string
		trust   *awsfake.Trust // nil: no role at all
		session string
		seconds int32
		want    string
	}{
		{"trusted function role", &awsfake.Trust{Account: security, PrincipalARNs: []string{function}}, "firebreak-contain", 900, ""},
		{"trusted account, any principal, organization required", &awsfake.Trust{Account: security, OrgID: orgID}, "firebreak-contain", 900, ""},
		{"no such role", nil, "firebreak-contain", 900, "AccessDenied"},
		{"another principal of the account", &awsfake.Trust{Account: security,
			PrincipalARNs: []string{awsfake.RoleARN(security, "firebreak-release")}}, "firebreak-contain", 900, "AccessDenied"},
		{"another account", &awsfake.Trust{Account: outsider}, "firebreak-contain", 900, "AccessDenied"},
		{"another organization", &awsfake.Trust{Account: security, OrgID: "o-someoneelse"}, "firebreak-contain", 900, "AccessDenied"},
		{"shorter than STS allows", &awsfake.Trust{Account: security}, "firebreak-contain", 899, "ValidationError"},
		{"longer than the role allows", &awsfake.Trust{Account: security}, "firebreak-contain", 3601, "ValidationError"},
		{"session name with a space", &awsfake.Trust{Account: security}, "case 42", 900, "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, sec, mem, _ := org(t)
			arn := awsfake.RoleARN(member, "FirebreakMember")
			if tt.trust != nil {
				if got := mem.AddRole("FirebreakMember", *tt.trust); got != arn {
					t.Fatalf("role ARN %s, want %s", got, arn)
				}
			}
			out, err := assume(sec, arn, tt.session, tt.seconds)
			wantCode(t, err, tt.want)
			if tt.want == "AccessDenied" && !strings.Contains(message(err), "sts:AssumeRole on resource: "+arn) {
				t.Errorf("denial %q does not name the action and role", message(err))
			}
			if tt.want != "" {
				return
			}
			if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::"+member+":assumed-role/FirebreakMember/"+tt.session {
				t.Errorf("assumed role user %s", got)
			}
			if got, want := aws.ToTime(out.Credentials.Expiration), mem.Now().Add(time.Duration(tt.seconds)*time.Second); !got.Equal(want) {
				t.Errorf("credentials expire at %v, want %v", got, want)
			}
		})
	}
}

// Credentials STS hands out act in the role's account only, and stop at
// their expiry; unknown keys are refused before anything runs.
func TestCredentialsAreScopedToTheRolesAccount(t *testing.T) {
	o, sec, mem, _ := org(t)
	secVictim, memVictim := sec.SeedDemo("i-0aaaaaaaaaaaaaaa1").Victim, mem.SeedDemo("i-0bbbbbbbbbbbbbbb2").Victim
	mem.AddRole("FirebreakMember", awsfake.Trust{Account: security})
	out, err := assume(sec, awsfake.RoleARN(member, "FirebreakMember"), "firebreak-contain", 900)
	if err != nil {
		t.Fatal(err)
	}
	key := aws.ToString(out.Credentials.AccessKeyId)
	p, err := o.Caller(key)
	if err != nil || p.Account != member || p.Role != "FirebreakMember" {
		t.Fatalf("caller of the issued key: %+v, %v", p, err)
	}
	account, principal, _ := o.Principal(key)
	c := o.Clients(account)
	got, err := c.EC2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{memVictim}})
	if err != nil || len(got.Reservations) != 1 {
		t.Errorf("describing the member's instance with its credentials: %v", err)
	}
	_, err = c.EC2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{secVictim}})
	wantCode(t, err, "InvalidInstanceID.NotFound")
	id, err := o.STSFor(account, principal).GetCallerIdentity(context.Background(), nil)
	if err != nil || aws.ToString(id.Account) != member || aws.ToString(id.Arn) != principal {
		t.Errorf("GetCallerIdentity with the member's credentials: %+v, %v", id, err)
	}

	mem.Advance(15 * time.Minute)
	_, err = o.Caller(key)
	wantCode(t, err, "ExpiredToken")
	_, err = o.Caller("AKIDNOBODYKNOWS")
	wantCode(t, err, "InvalidClientTokenId")
}

// Only accounts of the caller's organization are reachable through STS,
// even when the outsider's role trusts the caller.
func TestAssumeRoleOutsideTheOrganization(t *testing.T) {
	_, sec, _, out := org(t)
	out.AddRole("FirebreakMember", awsfake.Trust{Account: security})
	_, err := assume(sec, awsfake.RoleARN(outsider, "FirebreakMember"), "firebreak-contain", 900)
	wantCode(t, err, "AccessDenied")
	if n := sec.Calls()["AssumeRole"]; n != 1 {
		t.Errorf("AssumeRole counted %d times in the caller's world, want 1", n)
	}
}
