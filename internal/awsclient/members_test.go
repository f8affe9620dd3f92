package awsclient_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/firebreak-ir/firebreak/internal/awsclient"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/awssim"
)

const (
	security  = "111111111111"
	memberB   = "222222222222"
	memberC   = "333333333333" // in the organization, without the member role
	unlisted  = "444444444444"
	orgID     = "o-exampleorg1"
	functionK = "AKIDFUNCTIONROLE"
)

// orgSim is an organization served over the wire: the function's
// credentials belong to the security account; member B has the member role
// trusting the function's role, member C has none.
type orgSim struct {
	org      *awsfake.Organization
	sec, b   *awsfake.World
	victimB  string
	bucket   string
	sim      *awssim.Server
	requests *recorder
	cfg      aws.Config
}

func startOrg(t *testing.T) *orgSim {
	t.Helper()
	sec, b, c, d := awsfake.New(security, "us-east-1"), awsfake.New(memberB, "us-east-1"), awsfake.New(memberC, "us-east-1"), awsfake.New(unlisted, "us-east-1")
	for _, w := range []*awsfake.World{sec, b, c, d} {
		w.SetClock(time.Now)
	}
	o := awsfake.NewOrganization(orgID, sec, b, c, d)
	function := awsfake.FunctionPrincipal(security)
	o.AddAccessKey(functionK, function)
	b.AddRole(awsclient.DefaultMemberRole, awsfake.Trust{Account: security, PrincipalARNs: []string{function.RoleARN()}, OrgID: orgID})
	bucket := "firebreak-evidence-" + security
	sec.AddBucket(bucket)
	s := &orgSim{org: o, sec: sec, b: b, victimB: b.SeedDemo("i-0bbbbbbbbbbbbbbb2").Victim, bucket: bucket,
		sim: awssim.New(awssim.Backend{}, awssim.WithDirectory(o)), requests: &recorder{next: http.DefaultClient}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	endpoint, err := s.sim.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL", endpoint) // path-style S3, as in the Lambda over the simulator
	s.cfg = aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), HTTPClient: s.requests,
		Credentials: credentials.NewStaticCredentialsProvider(functionK, "secret", "")}
	return s
}

func (s *orgSim) factory(m awsclient.Members) *awsclient.Factory {
	m.Session = "firebreak-contain"
	return awsclient.New(s.cfg, security, awsclient.WithMembers(m))
}

// recorder keeps the User-Agent of every request.
type recorder struct {
	next *http.Client
	mu   sync.Mutex
	ua   []string
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.ua = append(r.ua, req.Header.Get("User-Agent"))
	r.mu.Unlock()
	return r.next.Do(awsclient.ShieldBody(req))
}

func (r *recorder) userAgents() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ua...)
}

// A member's clients act in the member's account with the member role's
// credentials, assumed once for every case and Region asked; the evidence
// bucket stays the security account's.
func TestMemberClientsActInTheMemberAccount(t *testing.T) {
	s := startOrg(t)
	f := s.factory(awsclient.Members{Accounts: []string{memberB, memberC}})
	ctx := context.Background()
	var first ec2API
	for i := range 5 {
		c, err := f.For(awsclient.WithCase(ctx, "case-"+string(rune('a'+i))), memberB, "")
		if err != nil {
			t.Fatalf("clients for %s: %v", memberB, err)
		}
		if i == 0 {
			first = c.EC2
		} else if c.EC2 != first {
			t.Error("clients for one member and Region were built twice")
		}
		out, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{s.victimB}})
		if err != nil || len(out.Reservations) != 1 {
			t.Fatalf("describing %s in %s: %v", s.victimB, memberB, err)
		}
		if _, err := c.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(s.bucket), Key: aws.String("k"), Body: bytes.NewReader(nil)}); err != nil {
			t.Fatalf("writing evidence from %s's clients: %v", memberB, err)
		}
	}
	if _, err := f.For(ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	st := s.sim.Stats()
	if n := st["sts:AssumeRole"].Calls; n != 1 {
		t.Errorf("AssumeRole called %d times for 5 cases, want once per credentials lifetime", n)
	}
	if n := s.sim.AccountStats(memberB)["ec2:DescribeInstances"].Calls; n != 5 {
		t.Errorf("%d DescribeInstances in %s, want 5", n, memberB)
	}
	if n := s.sim.AccountStats(security)["s3:PutObject"].Calls; n != 5 || len(s.sec.Objects()) != 1 {
		t.Errorf("%d PutObject in the security account, %d objects; want 5 and the one key", n, len(s.sec.Objects()))
	}
	sessions := s.org.Sessions()
	if len(sessions) != 1 {
		t.Fatalf("%d sessions issued, want 1", len(sessions))
	}
	p := sessions[0].Principal
	if p.Account != memberB || p.Role != awsclient.DefaultMemberRole || p.Session != "firebreak-contain" {
		t.Errorf("session %+v, want %s's member role, session firebreak-contain", p, memberB)
	}
	if left := time.Until(sessions[0].Expires); left > 15*time.Minute || left < 14*time.Minute {
		t.Errorf("credentials last %v, want STS's minimum of 15 minutes", left)
	}
}

type ec2API = interface {
	DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
}

func TestAccountsTheFunctionCannotReach(t *testing.T) {
	tests := []struct {
		name    string
		members awsclient.Members
		account string
		want    error
		message string
	}{
		{"single-account deployment", awsclient.Members{}, memberB, awsclient.ErrOtherAccount, memberB + ", while Firebreak runs in " + security},
		{"not a listed member", awsclient.Members{Accounts: []string{memberB}}, unlisted, awsclient.ErrOtherAccount, unlisted + " is not one of the member accounts"},
		{"listed, without the member role", awsclient.Members{Accounts: []string{memberC}}, memberC, awsclient.ErrMemberRoleMissing,
			"member role missing in " + memberC + "; deploy the member stack there"},
		{"organization, without the member role", awsclient.Members{Organization: true}, unlisted, awsclient.ErrMemberRoleMissing,
			"member role missing in " + unlisted + "; deploy the member stack there"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startOrg(t)
			_, err := s.factory(tt.members).For(context.Background(), tt.account, "")
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("error %v, want %v saying %q", err, tt.want, tt.message)
			}
			var mre *awsclient.MemberRoleError
			if errors.As(err, &mre) && (mre.Account != tt.account || !strings.Contains(mre.Error(), "AccessDenied")) {
				t.Errorf("%+v: want the account and STS's AccessDenied", mre)
			}
			if m := s.sim.AccountStats(tt.account); len(m) > 0 {
				t.Errorf("requests reached %s: %v", tt.account, m)
			}
		})
	}
}

// Every request made for a case names it in the User-Agent, which CloudTrail
// records per event; requests outside a case carry no case.
func TestRequestsNameTheirCase(t *testing.T) {
	s := startOrg(t)
	f := s.factory(awsclient.Members{Accounts: []string{memberB}})
	ctx := awsclient.WithCase(context.Background(), "IR-2026-0142")
	c, err := f.For(ctx, memberB, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{s.victimB}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EC2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{s.victimB}}); err != nil {
		t.Fatal(err)
	}
	ua := s.requests.userAgents()
	if len(ua) != 3 {
		t.Fatalf("%d requests (%q), want AssumeRole and two DescribeInstances", len(ua), ua)
	}
	for i, u := range ua[:2] {
		if !strings.HasSuffix(u, " firebreak-case/IR-2026-0142") || !strings.HasPrefix(u, "aws-sdk-go-v2/") {
			t.Errorf("request %d User-Agent %q, want the SDK's followed by firebreak-case/IR-2026-0142", i, u)
		}
	}
	if strings.Contains(ua[2], "firebreak-case") {
		t.Errorf("a request outside any case names one: %q", ua[2])
	}
}

func TestCaseUserAgentIsAToken(t *testing.T) {
	for in, want := range map[string]string{
		"411647294fc69b66beba1f3f7bbbc43d": "411647294fc69b66beba1f3f7bbbc43d",
		"IR 2026/0142\r\nX-Injected: 1":    "IR-2026-0142--X-Injected--1",
		strings.Repeat("a", 300):           strings.Repeat("a", 128),
	} {
		s := startOrg(t)
		c, _ := s.factory(awsclient.Members{}).For(context.Background(), "", "")
		if _, err := c.EC2.DescribeInstances(awsclient.WithCase(context.Background(), in), &ec2.DescribeInstancesInput{}); err != nil {
			t.Fatal(err)
		}
		if ua := s.requests.userAgents(); !strings.HasSuffix(ua[0], " firebreak-case/"+want) {
			t.Errorf("case %q: User-Agent %q, want it to end firebreak-case/%s", in, ua[0], want)
		}
	}
}
