package runbook

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/firebreak-ir/firebreak/internal/report"
)

func entry(rule int32, egress bool, action ec2types.RuleAction, proto, cidr string) ec2types.NetworkAclEntry {
	e := ec2types.NetworkAclEntry{RuleNumber: aws.Int32(rule), Egress: aws.Bool(egress), RuleAction: action, Protocol: aws.String(proto)}
	if strings.Contains(cidr, ":") {
		e.Ipv6CidrBlock = aws.String(cidr)
	} else {
		e.CidrBlock = aws.String(cidr)
	}
	return e
}

func TestPlanDenies(t *testing.T) {
	const (
		allow = ec2types.RuleActionAllow
		deny  = ec2types.RuleActionDeny
		a     = "10.0.1.10/32"
		b     = "2600:1f18:4a01:100::1a2b:3c10/128"
	)
	// The catch-all entries every ACL has, in both directions.
	catchAll := []ec2types.NetworkAclEntry{
		entry(32767, false, deny, "-1", "0.0.0.0/0"), entry(32768, false, deny, "-1", "::/0"),
		entry(32767, true, deny, "-1", "0.0.0.0/0"), entry(32768, true, deny, "-1", "::/0"),
	}
	for _, tc := range []struct {
		name             string
		entries          []ec2types.NetworkAclEntry
		present, missing []int32 // rule numbers, in cidr order
		err              string
	}{
		{
			name:    "default ACL: just below its ALLOW at 100",
			entries: []ec2types.NetworkAclEntry{entry(100, false, allow, "-1", "0.0.0.0/0"), entry(101, false, allow, "-1", "::/0")},
			missing: []int32{99, 98},
		},
		{
			name: "owner's numbers are skipped",
			entries: []ec2types.NetworkAclEntry{entry(90, false, deny, "-1", "203.0.113.0/24"), entry(99, false, deny, "6", "198.51.100.0/24"),
				entry(98, false, deny, "-1", "192.0.2.0/24"), entry(100, false, allow, "-1", "0.0.0.0/0")},
			missing: []int32{97, 96},
		},
		{
			name:    "the other direction's numbers do not count",
			entries: []ec2types.NetworkAclEntry{entry(99, true, deny, "-1", "192.0.2.0/24"), entry(50, true, allow, "-1", "0.0.0.0/0"), entry(100, false, allow, "-1", "0.0.0.0/0")},
			missing: []int32{99, 98},
		},
		{
			name:    "an existing deny of all protocols is reused",
			entries: []ec2types.NetworkAclEntry{entry(97, false, deny, "-1", a), entry(100, false, allow, "-1", "0.0.0.0/0")},
			present: []int32{97}, missing: []int32{99},
		},
		{
			name:    "a deny of one protocol is not a hard cut",
			entries: []ec2types.NetworkAclEntry{entry(99, false, deny, "6", a), entry(100, false, allow, "-1", "0.0.0.0/0")},
			missing: []int32{98, 97},
		},
		{
			name:    "a deny behind the first ALLOW never matches",
			entries: []ec2types.NetworkAclEntry{entry(100, false, allow, "-1", "0.0.0.0/0"), entry(200, false, deny, "-1", a)},
			missing: []int32{99, 98},
		},
		{
			name:    "no ALLOW at all: just below the catch-all",
			missing: []int32{32766, 32765},
		},
		{
			name:    "no free number below the first ALLOW",
			entries: []ec2types.NetworkAclEntry{entry(1, false, deny, "-1", "203.0.113.0/24"), entry(2, false, allow, "-1", "0.0.0.0/0")},
			err:     "no free rule number below its first ALLOW (2)",
		},
		{
			name:    "room for the first address only",
			entries: []ec2types.NetworkAclEntry{entry(2, false, allow, "-1", "0.0.0.0/0")},
			missing: []int32{1}, err: "no free rule number below its first ALLOW (2) for " + b,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acl := ec2types.NetworkAcl{NetworkAclId: aws.String("acl-0123456789abcdef0"), Entries: append(slices.Clone(tc.entries), catchAll...)}

			present, missing, err := planDenies(acl, false, []string{a, b})

			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
			for _, got := range [][]report.NACLEntry{present, missing} {
				for _, e := range got {
					if e.Egress || e.NetworkACLID != "acl-0123456789abcdef0" {
						t.Errorf("entry %+v is not an ingress entry of the ACL", e)
					}
				}
			}
			if got := rules(present); !slices.Equal(got, tc.present) {
				t.Errorf("present %v, want rules %v", present, tc.present)
			}
			if got := rules(missing); !slices.Equal(got, tc.missing) {
				t.Errorf("missing %v, want rules %v", missing, tc.missing)
			}
			if tc.err == "" {
				var cidrs []string
				for _, e := range append(slices.Clone(present), missing...) {
					cidrs = append(cidrs, e.CIDR)
				}
				slices.Sort(cidrs)
				if !slices.Equal(cidrs, []string{a, b}) {
					t.Errorf("entries for %v, want one per address %v", cidrs, []string{a, b})
				}
			}
		})
	}
}

func rules(es []report.NACLEntry) []int32 {
	var out []int32
	for _, e := range es {
		out = append(out, e.RuleNumber)
	}
	return out
}

func TestErrorCode(t *testing.T) {
	throttled := &smithy.GenericAPIError{Code: "RequestLimitExceeded", Message: "Request limit exceeded."}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"AWS error", throttled, "RequestLimitExceeded"},
		{"wrapped AWS error", fmt.Errorf("moving eni-1 to sg-2: %w", throttled), "RequestLimitExceeded"},
		{"first of joined errors", joinErrs([]error{nil, fmt.Errorf("a: %w", throttled), errors.New("b")}), "RequestLimitExceeded"},
		{"deadline", fmt.Errorf("describing: %w", context.DeadlineExceeded), "Timeout"},
		{"cancelled", context.Canceled, "Canceled"},
		{"anything else", errors.New("not in the response"), "Error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errorCode(tc.err); got != tc.want {
				t.Errorf("errorCode(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

func TestJoinErrsKeepsEveryMessage(t *testing.T) {
	err := joinErrs([]error{nil, errors.New("moving eni-1: refused"), nil, errors.New("moving eni-2: refused")})
	if err == nil || !strings.Contains(err.Error(), "eni-1") || !strings.Contains(err.Error(), "eni-2") {
		t.Errorf("joinErrs = %v, want both interfaces named", err)
	}
	if err := joinErrs([]error{nil, nil}); err != nil {
		t.Errorf("joinErrs of nils = %v, want nil", err)
	}
}

func TestTagValuesAreSafe(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		n        int
		want     string
	}{
		{"short enough", "Backdoor:EC2/XORDDOS", 256, "Backdoor:EC2/XORDDOS"},
		{"control characters become spaces", "a\nb\tc\x00d", 256, "a b c d"},
		{"cut at the limit", "abcdef", 4, "abcd"},
		{"never inside a rune", "ab\u00e9\u00e9", 3, "ab"},
		{"a rune that fits stays", "ab\u00e9\u00e9", 4, "ab\u00e9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := truncate(printable(tc.in), tc.n); got != tc.want {
				t.Errorf("truncate(printable(%q), %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}
