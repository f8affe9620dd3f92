package awsfake_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
)

// egressPeers lists a group's egress rules as "protocol peer".
func egressPeers(rules []types.SecurityGroupRule) []string {
	var out []string
	for _, r := range rules {
		if *r.IsEgress {
			out = append(out, *r.IpProtocol+" "+aws.ToString(r.CidrIpv4)+aws.ToString(r.CidrIpv6))
		}
	}
	return out
}

func TestCreateSecurityGroup(t *testing.T) {
	tests := []struct {
		name       string
		in         func(v4, v6 string) *ec2.CreateSecurityGroupInput
		wantErr    string
		wantEgress []string
	}{
		{
			name:       "IPv4-only VPC gets IPv4 allow-all egress",
			in:         func(v4, _ string) *ec2.CreateSecurityGroupInput { return sgInput(v4, "isolation") },
			wantEgress: []string{"-1 0.0.0.0/0"},
		},
		{
			name:       "dual-stack VPC also gets ::/0 egress",
			in:         func(_, v6 string) *ec2.CreateSecurityGroupInput { return sgInput(v6, "isolation") },
			wantEgress: []string{"-1 0.0.0.0/0", "-1 ::/0"},
		},
		{
			name:    "name taken in the VPC",
			in:      func(_, v6 string) *ec2.CreateSecurityGroupInput { return sgInput(v6, "web") },
			wantErr: "InvalidGroup.Duplicate",
		},
		{
			name:       "name free in another VPC",
			in:         func(v4, _ string) *ec2.CreateSecurityGroupInput { return sgInput(v4, "web") },
			wantEgress: []string{"-1 0.0.0.0/0"},
		},
		{
			name:    "name starting with sg-",
			in:      func(v4, _ string) *ec2.CreateSecurityGroupInput { return sgInput(v4, "sg-isolation") },
			wantErr: "InvalidParameterValue",
		},
		{
			name:    "unknown VPC",
			in:      func(string, string) *ec2.CreateSecurityGroupInput { return sgInput("vpc-0000000000000dead", "x") },
			wantErr: "InvalidVpcID.NotFound",
		},
		{
			name: "no description",
			in: func(v4, _ string) *ec2.CreateSecurityGroupInput {
				in := sgInput(v4, "x")
				in.Description = nil
				return in
			},
			wantErr: "MissingParameter",
		},
		{
			name: "dry run",
			in: func(v4, _ string) *ec2.CreateSecurityGroupInput {
				in := sgInput(v4, "isolation")
				in.DryRun = aws.Bool(true)
				return in
			},
			wantErr: "DryRunOperation",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, d, c := demo(t)
			v4 := w.AddVPC("172.16.0.0/16", false)
			out, err := c.EC2.CreateSecurityGroup(context.Background(), tc.in(v4, d.VPC))
			wantCode(t, err, tc.wantErr)
			if err != nil {
				groups, _ := c.EC2.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{
					Filters: []types.Filter{{Name: aws.String("group-name"), Values: []string{"isolation"}}}})
				if len(groups.SecurityGroups) != 0 {
					t.Errorf("a failed create left a group behind: %v", groups.SecurityGroups)
				}
				return
			}
			if got := egressPeers(w.SecurityGroupRules(*out.GroupId)); !slices.Equal(got, tc.wantEgress) {
				t.Errorf("egress = %v, want %v", got, tc.wantEgress)
			}
			if len(out.Tags) != 1 || *out.Tags[0].Key != "Purpose" || *w.SecurityGroup(*out.GroupId).Tags[0].Value != "isolation" {
				t.Errorf("tags = %v, want the TagSpecifications", out.Tags)
			}
		})
	}
}

func sgInput(vpc, name string) *ec2.CreateSecurityGroupInput {
	return &ec2.CreateSecurityGroupInput{
		VpcId: aws.String(vpc), GroupName: aws.String(name), Description: aws.String("Firebreak isolation"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup,
			Tags: []types.Tag{{Key: aws.String("Purpose"), Value: aws.String("isolation")}}}},
	}
}

func TestDescribeSecurityGroups(t *testing.T) {
	w, d, c := demo(t)
	other := w.AddVPC("172.16.0.0/16", false)
	elsewhere := w.AddSecurityGroup(other, "web")
	_, err := c.EC2.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{d.AppGroup},
		Tags: []types.Tag{{Key: aws.String("Tier"), Value: aws.String("app")}}})
	if err != nil {
		t.Fatal(err)
	}
	f := func(name string, values ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: values}
	}
	tests := []struct {
		name    string
		in      ec2.DescribeSecurityGroupsInput
		want    []string
		wantErr string
	}{
		{"by id", ec2.DescribeSecurityGroupsInput{GroupIds: []string{d.AppGroup, elsewhere}}, []string{d.AppGroup, elsewhere}, ""},
		{"unknown id", ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0000000000000dead"}}, nil, "InvalidGroup.NotFound"},
		{"malformed id", ec2.DescribeSecurityGroupsInput{GroupIds: []string{"web"}}, nil, "InvalidGroupId.Malformed"},
		{"group-name", ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{f("group-name", "web")}}, []string{d.WebGroup, elsewhere}, ""},
		{"group-name and vpc-id", ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{f("group-name", "web"), f("vpc-id", other)}}, []string{elsewhere}, ""},
		{"tag", ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{f("tag:Tier", "app")}}, []string{d.AppGroup}, ""},
		{"tag-key", ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{f("tag-key", "Tier")}}, []string{d.AppGroup}, ""},
		{"referenced group", ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{f("ip-permission.group-id", d.WebGroup)}}, []string{d.AppGroup}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.EC2.DescribeSecurityGroups(context.Background(), &tc.in)
			wantCode(t, err, tc.wantErr)
			if err != nil {
				return
			}
			var got []string
			for _, g := range out.SecurityGroups {
				got = append(got, *g.GroupId)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("groups = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDescribeSecurityGroupsFoldsRulesIntoPermissions(t *testing.T) {
	w, d, _ := demo(t)
	g := w.SecurityGroup(d.WebGroup)
	if len(g.IpPermissions) != 2 {
		t.Fatalf("web ingress = %+v, want one permission per port", g.IpPermissions)
	}
	p := g.IpPermissions[0]
	if *p.IpProtocol != "tcp" || *p.FromPort != 80 || *p.ToPort != 80 || len(p.IpRanges) != 1 || len(p.Ipv6Ranges) != 1 {
		t.Errorf("first permission = %+v, want tcp/80 from 0.0.0.0/0 and ::/0", p)
	}
	if len(g.IpPermissionsEgress) != 1 || *g.IpPermissionsEgress[0].IpProtocol != "-1" || g.IpPermissionsEgress[0].FromPort != nil {
		t.Errorf("egress = %+v, want one all-traffic permission without ports", g.IpPermissionsEgress)
	}
	app := w.SecurityGroup(d.AppGroup)
	if pair := app.IpPermissions[0].UserIdGroupPairs; len(pair) != 1 || *pair[0].GroupId != d.WebGroup || *pair[0].UserId != account {
		t.Errorf("app ingress pairs = %+v", pair)
	}
}

func TestAuthorizeAndRevoke(t *testing.T) {
	ctx := context.Background()
	ssh := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
		IpRanges: []types.IpRange{{CidrIp: aws.String("203.0.113.0/24"), Description: aws.String("bastion")}}}

	t.Run("authorize returns sgr ids and rejects duplicates", func(t *testing.T) {
		w, d, c := demo(t)
		out, err := c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(d.AppGroup), IpPermissions: []types.IpPermission{ssh}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.SecurityGroupRules) != 1 || *out.SecurityGroupRules[0].CidrIpv4 != "203.0.113.0/24" || *out.SecurityGroupRules[0].IsEgress {
			t.Fatalf("rules = %+v", out.SecurityGroupRules)
		}
		dup := ssh
		dup.IpRanges = []types.IpRange{{CidrIp: aws.String("203.0.113.0/24"), Description: aws.String("another description")}}
		_, err = c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(d.AppGroup), IpPermissions: []types.IpPermission{dup}})
		wantCode(t, err, "InvalidPermission.Duplicate")
		if want := `the specified rule "peer: 203.0.113.0/24, TCP, from port: 22, to port: 22, ALLOW" already exists`; message(err) != want {
			t.Errorf("message = %q, want %q", message(err), want)
		}
		// two default egress rules, 8443 from web, SSH from the VPC, and the new one
		if n := len(w.SecurityGroupRules(d.AppGroup)); n != 5 {
			t.Errorf("app has %d rules, want 5", n)
		}
	})

	t.Run("allow-all both ways, then empty the group by rule id", func(t *testing.T) {
		w, d, c := demo(t)
		g, err := c.EC2.CreateSecurityGroup(ctx, sgInput(d.VPC, "firebreak-isolation"))
		if err != nil {
			t.Fatal(err)
		}
		all := types.IpPermission{IpProtocol: aws.String("-1"),
			IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}, Ipv6Ranges: []types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}}
		if _, err := c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: []types.IpPermission{all}}); err != nil {
			t.Fatal(err)
		}
		_, err = c.EC2.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: g.GroupId, IpPermissions: []types.IpPermission{all}})
		wantCode(t, err, "InvalidPermission.Duplicate") // the defaults already allow all egress

		rules, err := c.EC2.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{
			Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{*g.GroupId}}}})
		if err != nil {
			t.Fatal(err)
		}
		var in, out []string
		for _, r := range rules.SecurityGroupRules {
			if *r.IsEgress {
				out = append(out, *r.SecurityGroupRuleId)
			} else {
				in = append(in, *r.SecurityGroupRuleId)
			}
		}
		if len(in) != 2 || len(out) != 2 {
			t.Fatalf("rules in/out = %v/%v, want 2/2", in, out)
		}
		_, err = c.EC2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: g.GroupId, SecurityGroupRuleIds: in})
		wantCode(t, err, "InvalidSecurityGroupRuleId.NotFound") // ingress ids do not name egress rules
		rev, err := c.EC2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: g.GroupId, SecurityGroupRuleIds: out})
		if err != nil || len(rev.RevokedSecurityGroupRules) != 2 || !*rev.Return {
			t.Fatalf("revoke egress: %v %+v", err, rev)
		}
		if _, err := c.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: g.GroupId, SecurityGroupRuleIds: in}); err != nil {
			t.Fatal(err)
		}
		if left := w.SecurityGroupRules(*g.GroupId); len(left) != 0 {
			t.Fatalf("rules left: %+v", left)
		}
		_, err = c.EC2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: g.GroupId, SecurityGroupRuleIds: out[:1]})
		wantCode(t, err, "InvalidSecurityGroupRuleId.NotFound")
	})

	t.Run("revoke by permissions", func(t *testing.T) {
		w, d, c := demo(t)
		rev, err := c.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(d.WebGroup),
			IpPermissions: []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80),
				IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}})
		if err != nil || len(rev.RevokedSecurityGroupRules) != 1 {
			t.Fatalf("revoke: %v %+v", err, rev)
		}
		if n := len(w.SecurityGroupRules(d.WebGroup)); n != 5 {
			t.Errorf("web has %d rules, want 5", n)
		}
	})

	t.Run("unknown rule in a non-default VPC fails whole", func(t *testing.T) {
		w, d, c := demo(t)
		_, err := c.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(d.WebGroup),
			IpPermissions: []types.IpPermission{
				{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}},
				ssh,
			}})
		wantCode(t, err, "InvalidPermission.NotFound")
		if n := len(w.SecurityGroupRules(d.WebGroup)); n != 6 {
			t.Errorf("web has %d rules, want all 6 kept", n)
		}
	})

	t.Run("unknown rule in the default VPC is reported", func(t *testing.T) {
		w, d, c := demo(t)
		w.SetDefaultVPC(d.VPC)
		rev, err := c.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(d.WebGroup), IpPermissions: []types.IpPermission{ssh}})
		if err != nil || len(rev.UnknownIpPermissions) != 1 || len(rev.RevokedSecurityGroupRules) != 0 {
			t.Fatalf("revoke: %v %+v", err, rev)
		}
	})

	t.Run("legacy flat parameters and protocol numbers", func(t *testing.T) {
		w, d, c := demo(t)
		_, err := c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(d.AppGroup),
			IpProtocol: aws.String("6"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432), CidrIp: aws.String("10.0.0.0/16")})
		if err != nil {
			t.Fatal(err)
		}
		// "tcp" and "6" name the same protocol, so this is the same rule.
		_, err = c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(d.AppGroup),
			IpPermissions: []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432),
				IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/16")}}}}})
		wantCode(t, err, "InvalidPermission.Duplicate")
		_, err = c.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(d.AppGroup),
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432), CidrIp: aws.String("10.0.0.0/16"),
			SecurityGroupRuleIds: []string{*w.SecurityGroupRules(d.AppGroup)[0].SecurityGroupRuleId}})
		wantCode(t, err, "InvalidParameterCombination")
	})

	t.Run("bad requests", func(t *testing.T) {
		_, d, c := demo(t)
		for name, tc := range map[string]struct {
			in   *ec2.AuthorizeSecurityGroupIngressInput
			want string
		}{
			"unknown group": {&ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String("sg-0000000000000dead"), IpPermissions: []types.IpPermission{ssh}}, "InvalidGroup.NotFound"},
			"no ports for tcp": {&ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(d.AppGroup), IpPermissions: []types.IpPermission{
				{IpProtocol: aws.String("tcp"), IpRanges: []types.IpRange{{CidrIp: aws.String("10.1.0.0/16")}}}}}, "InvalidParameterValue"},
			"host bits in CIDR": {&ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(d.AppGroup), IpPermissions: []types.IpPermission{
				{IpProtocol: aws.String("-1"), IpRanges: []types.IpRange{{CidrIp: aws.String("10.1.2.3/16")}}}}}, "InvalidParameterValue"},
			"dry run": {&ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(d.AppGroup), IpPermissions: []types.IpPermission{ssh}, DryRun: aws.Bool(true)}, "DryRunOperation"},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := c.EC2.AuthorizeSecurityGroupIngress(ctx, tc.in)
				wantCode(t, err, tc.want)
			})
		}
	})
}

func TestDescribeSecurityGroupRulesByIDAndPaginator(t *testing.T) {
	w, d, c := demo(t)
	web := w.SecurityGroupRules(d.WebGroup)
	out, err := c.EC2.DescribeSecurityGroupRules(context.Background(), &ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{*web[1].SecurityGroupRuleId}})
	if err != nil || len(out.SecurityGroupRules) != 1 || *out.SecurityGroupRules[0].GroupId != d.WebGroup {
		t.Fatalf("by id: %v %+v", err, out)
	}
	_, err = c.EC2.DescribeSecurityGroupRules(context.Background(), &ec2.DescribeSecurityGroupRulesInput{SecurityGroupRuleIds: []string{"sgr-0000000000000dead"}})
	wantCode(t, err, "InvalidSecurityGroupRuleId.NotFound")

	total := 0
	for _, g := range []string{d.DefaultGroup, d.WebGroup, d.AppGroup} {
		total += len(w.SecurityGroupRules(g))
	}
	p := ec2.NewDescribeSecurityGroupRulesPaginator(c.EC2, &ec2.DescribeSecurityGroupRulesInput{}, func(o *ec2.DescribeSecurityGroupRulesPaginatorOptions) { o.Limit = 5 })
	seen := map[string]bool{}
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.SecurityGroupRules {
			seen[*r.SecurityGroupRuleId] = true
		}
	}
	if len(seen) != total {
		t.Fatalf("paginator saw %d rules, want %d", len(seen), total)
	}
}

func TestSeededGroupsKeepAWSDefaults(t *testing.T) {
	w := awsfake.New(account, region)
	v := w.AddVPC("10.9.0.0/16", false)
	def := w.SecurityGroup(w.DefaultSecurityGroup(v))
	if *def.GroupName != "default" || len(def.IpPermissions) != 1 || *def.IpPermissions[0].UserIdGroupPairs[0].GroupId != *def.GroupId {
		t.Fatalf("default group = %+v, want self-referencing ingress", def)
	}
}
