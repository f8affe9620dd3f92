package awsfake_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
)

// entries lists a network ACL's entries as "direction rule action cidr".
func entries(acl types.NetworkAcl) []string {
	var out []string
	for _, e := range acl.Entries {
		dir := "in"
		if *e.Egress {
			dir = "out"
		}
		out = append(out, fmt.Sprintf("%s %d %s %s%s", dir, *e.RuleNumber, e.RuleAction, aws.ToString(e.CidrBlock), aws.ToString(e.Ipv6CidrBlock)))
	}
	return out
}

func TestDefaultNetworkACL(t *testing.T) {
	w := awsfake.New(account, region)
	tests := []struct {
		name string
		vpc  string
		want []string
	}{
		{"IPv4 VPC", w.AddVPC("10.0.0.0/16", false),
			[]string{"out 100 allow 0.0.0.0/0", "out 32767 deny 0.0.0.0/0", "in 100 allow 0.0.0.0/0", "in 32767 deny 0.0.0.0/0"}},
		{"dual-stack VPC", w.AddVPC("10.1.0.0/16", true),
			[]string{"out 100 allow 0.0.0.0/0", "out 101 allow ::/0", "out 32767 deny 0.0.0.0/0", "out 32768 deny ::/0",
				"in 100 allow 0.0.0.0/0", "in 101 allow ::/0", "in 32767 deny 0.0.0.0/0", "in 32768 deny ::/0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := w.Clients().EC2.DescribeNetworkAcls(context.Background(), &ec2.DescribeNetworkAclsInput{
				Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{tc.vpc}}, {Name: aws.String("default"), Values: []string{"true"}}}})
			if err != nil || len(out.NetworkAcls) != 1 {
				t.Fatalf("describe: %v %+v", err, out)
			}
			if got := entries(out.NetworkAcls[0]); !slices.Equal(got, tc.want) {
				t.Errorf("entries = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDescribeNetworkAclsFilters(t *testing.T) {
	w, d, c := demo(t)
	isolated := w.AddSubnet(d.VPC, "10.0.3.0/24", "")
	custom := w.AddNetworkACL(d.VPC, isolated)
	f := func(name string, values ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: values}
	}
	tests := []struct {
		name    string
		in      ec2.DescribeNetworkAclsInput
		want    []string
		wantErr string
	}{
		{"association.subnet-id", ec2.DescribeNetworkAclsInput{Filters: []types.Filter{f("association.subnet-id", d.SubnetB)}}, []string{d.NetworkACL}, ""},
		{"moved subnet", ec2.DescribeNetworkAclsInput{Filters: []types.Filter{f("association.subnet-id", isolated)}}, []string{custom}, ""},
		{"vpc-id", ec2.DescribeNetworkAclsInput{Filters: []types.Filter{f("vpc-id", d.VPC)}}, []string{d.NetworkACL, custom}, ""},
		{"network-acl-id", ec2.DescribeNetworkAclsInput{Filters: []types.Filter{f("network-acl-id", custom)}}, []string{custom}, ""},
		{"by id", ec2.DescribeNetworkAclsInput{NetworkAclIds: []string{d.NetworkACL}}, []string{d.NetworkACL}, ""},
		{"unknown id", ec2.DescribeNetworkAclsInput{NetworkAclIds: []string{"acl-0000000000000dead"}}, nil, "InvalidNetworkAclID.NotFound"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.EC2.DescribeNetworkAcls(context.Background(), &tc.in)
			wantCode(t, err, tc.wantErr)
			if err != nil {
				return
			}
			var got []string
			for _, a := range out.NetworkAcls {
				got = append(got, *a.NetworkAclId)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ACLs = %v, want %v", got, tc.want)
			}
		})
	}
	acl := w.NetworkACL(custom)
	if len(acl.Associations) != 1 || *acl.Associations[0].SubnetId != isolated || len(w.NetworkACL(d.NetworkACL).Associations) != 2 {
		t.Errorf("associations: custom %+v", acl.Associations)
	}
}

func denyEntry(acl string, rule int32, egress bool, cidr string) *ec2.CreateNetworkAclEntryInput {
	in := &ec2.CreateNetworkAclEntryInput{NetworkAclId: aws.String(acl), RuleNumber: aws.Int32(rule), Egress: aws.Bool(egress),
		Protocol: aws.String("-1"), RuleAction: types.RuleActionDeny}
	if netip.MustParsePrefix(cidr).Addr().Is6() {
		in.Ipv6CidrBlock = aws.String(cidr)
	} else {
		in.CidrBlock = aws.String(cidr)
	}
	return in
}

func TestCreateNetworkAclEntry(t *testing.T) {
	tests := []struct {
		name    string
		in      func(acl string) *ec2.CreateNetworkAclEntryInput
		wantErr string
		want    string // the entry as entries() words it
	}{
		{"deny a /32 in", func(acl string) *ec2.CreateNetworkAclEntryInput { return denyEntry(acl, 90, false, "10.0.1.10/32") }, "", "in 90 deny 10.0.1.10/32"},
		{"deny a /128 out", func(acl string) *ec2.CreateNetworkAclEntryInput {
			return denyEntry(acl, 91, true, "2600:1f18:4a01:100::1a2b:3c10/128")
		}, "", "out 91 deny 2600:1f18:4a01:100::1a2b:3c10/128"},
		{"same number other direction", func(acl string) *ec2.CreateNetworkAclEntryInput { return denyEntry(acl, 100, true, "10.0.1.10/32") }, "NetworkAclEntryAlreadyExists", ""},
		{"rule 0", func(acl string) *ec2.CreateNetworkAclEntryInput { return denyEntry(acl, 0, false, "10.0.1.10/32") }, "InvalidParameterValue", ""},
		{"rule 32767", func(acl string) *ec2.CreateNetworkAclEntryInput { return denyEntry(acl, 32767, false, "10.0.1.10/32") }, "InvalidParameterValue", ""},
		{"no CIDR", func(acl string) *ec2.CreateNetworkAclEntryInput {
			in := denyEntry(acl, 90, false, "10.0.1.10/32")
			in.CidrBlock = nil
			return in
		}, "MissingParameter", ""},
		{"tcp without ports", func(acl string) *ec2.CreateNetworkAclEntryInput {
			in := denyEntry(acl, 90, false, "10.0.1.10/32")
			in.Protocol = aws.String("6")
			return in
		}, "MissingParameter", ""},
		{"unknown ACL", func(string) *ec2.CreateNetworkAclEntryInput {
			return denyEntry("acl-0000000000000dead", 90, false, "10.0.1.10/32")
		}, "InvalidNetworkAclID.NotFound", ""},
		{"dry run", func(acl string) *ec2.CreateNetworkAclEntryInput {
			in := denyEntry(acl, 90, false, "10.0.1.10/32")
			in.DryRun = aws.Bool(true)
			return in
		}, "DryRunOperation", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, d, c := demo(t)
			before := entries(w.NetworkACL(d.NetworkACL))
			_, err := c.EC2.CreateNetworkAclEntry(context.Background(), tc.in(d.NetworkACL))
			wantCode(t, err, tc.wantErr)
			after := entries(w.NetworkACL(d.NetworkACL))
			switch {
			case err != nil && len(after) != len(before):
				t.Errorf("a failed create changed the ACL: %v", after)
			case err == nil && (len(after) != len(before)+1 || !slices.Contains(after, tc.want)):
				t.Errorf("entries = %v, want %q added", after, tc.want)
			}
		})
	}
}

func TestNetworkACLEntryLimitPerDirectionAndFamily(t *testing.T) {
	w, d, c := demo(t)
	ctx := context.Background()
	// The default ACL already holds rule 100 (IPv4) and 101 (IPv6) each way.
	for i := range int32(19) {
		if _, err := c.EC2.CreateNetworkAclEntry(ctx, denyEntry(d.NetworkACL, 1+i, false, fmt.Sprintf("10.0.9.%d/32", i))); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
	}
	_, err := c.EC2.CreateNetworkAclEntry(ctx, denyEntry(d.NetworkACL, 50, false, "10.0.9.99/32"))
	wantCode(t, err, "NetworkAclEntryLimitExceeded")
	if _, err := c.EC2.CreateNetworkAclEntry(ctx, denyEntry(d.NetworkACL, 50, true, "10.0.9.99/32")); err != nil {
		t.Fatalf("egress counts apart: %v", err)
	}
	if _, err := c.EC2.CreateNetworkAclEntry(ctx, denyEntry(d.NetworkACL, 51, false, "2600:1f18:4a01:100::1/128")); err != nil {
		t.Fatalf("IPv6 counts apart: %v", err)
	}
	w.SetNetworkACLEntryLimit(40)
	if _, err := c.EC2.CreateNetworkAclEntry(ctx, denyEntry(d.NetworkACL, 52, false, "10.0.9.99/32")); err != nil {
		t.Fatalf("after raising the quota: %v", err)
	}
}

func TestDescribeNetworkAclsPaginator(t *testing.T) {
	w, d, c := demo(t)
	for i := range 6 {
		w.AddNetworkACL(d.VPC, w.AddSubnet(d.VPC, fmt.Sprintf("10.0.%d.0/24", 10+i), ""))
	}
	p := ec2.NewDescribeNetworkAclsPaginator(c.EC2, &ec2.DescribeNetworkAclsInput{}, func(o *ec2.DescribeNetworkAclsPaginatorOptions) { o.Limit = 5 })
	n, pages := 0, 0
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n, pages = n+len(out.NetworkAcls), pages+1
	}
	if n != 7 || pages != 2 {
		t.Fatalf("%d ACLs in %d pages, want 7 in 2", n, pages)
	}
}
