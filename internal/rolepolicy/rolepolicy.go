// Package rolepolicy keeps the deny policies Firebreak attaches to an instance
// role: customer managed policies under /firebreak/ that deny every action to
// sessions whose ec2:SourceInstanceARN is a contained instance. EC2 sets that
// key on every request signed with credentials it delivered to the instance,
// so the deny reaches copies used anywhere, and other instances sharing the
// role are untouched.
//
// IAM quotas (IAM User Guide, "IAM and AWS STS quotas"): a managed policy
// holds at most 6,144 characters (whitespace not counted) and 5 versions; a
// role has 10 managed policies attached by default (adjustable to 25). An
// instance ARN is about 60 characters, so one policy holds about 90
// instances; the policies a role can still take are its budget.
package rolepolicy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/awserr"
	"github.com/firebreak-ir/firebreak/internal/contract"
)

const (
	// MaxPolicyChars is IAM's size quota for one managed policy.
	MaxPolicyChars = 6144
	// DefaultQuota is IAM's default number of managed policies per role.
	DefaultQuota = 10
	maxVersions  = 5
	sid          = "FirebreakDenyContainedInstances"
)

// ErrBudgetFull is returned when the role cannot take another policy.
var ErrBudgetFull = errors.New("managed-policy budget full")

// InstanceARN is the value of ec2:SourceInstanceARN for an instance.
func InstanceARN(partition, region, account, id string) string {
	return fmt.Sprintf("arn:%s:ec2:%s:%s:instance/%s", partition, region, account, id)
}

// PolicyName is the n-th deny policy of a role (IAM caps names at 128; role
// names at 64).
func PolicyName(role string, n int) string {
	return contract.DenyPolicyPrefix + role + "-" + strconv.Itoa(n)
}

// PolicyARNPrefix is what the ARNs of a role's deny policies start with.
func PolicyARNPrefix(partition, account, role string) string {
	return fmt.Sprintf("arn:%s:iam::%s:policy%s%s-", partition, account, contract.DenyPolicyPath, contract.DenyPolicyPrefix+role)
}

// Document is the deny policy for the given instance ARNs, in a stable order.
func Document(arns []string) string {
	sorted := slices.Sorted(slices.Values(arns))
	doc := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Sid": sid, "Effect": "Deny", "Action": "*", "Resource": "*",
		"Condition": map[string]any{"ArnEquals": map[string]any{"ec2:SourceInstanceARN": sorted}},
	}}}
	b, _ := json.Marshal(doc)
	return string(b)
}

func size(doc string) int {
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

// shard is one of the role's deny policies.
type shard struct {
	n        int
	arn      string
	arns     []string
	attached bool
	changed  bool
}

// Writer keeps one account's deny policies.
type Writer struct {
	IAM       awsapi.IAM
	Account   string
	Partition string
	// Quota is the account's managed-policies-per-role quota (0: IAM's default).
	Quota int
}

// Result is what Set found and did.
type Result struct {
	Written  []string // instance ARNs the role's policies deny now
	Policies []string // the deny policies' ARNs
	Changed  []string // the policies written by this call
	Attached int      // managed policies attached to the role, Firebreak's included
	Calls    int
}

func (w Writer) policyARN(role string, n int) string {
	return PolicyARNPrefix(w.Partition, w.Account, role) + strconv.Itoa(n)
}

// Set makes the role's deny policies deny exactly want: ARNs stay in the
// policy that holds them, new ones go to the first with room, so adding or
// removing one instance rewrites one policy. On ErrBudgetFull the ARNs that
// fit are written and reported in Result.Written.
func (w Writer) Set(ctx context.Context, role string, want []string) (Result, error) {
	var res Result
	shards, attached, err := w.read(ctx, role, &res)
	if err != nil {
		return res, err
	}
	res.Attached = attached
	wanted := map[string]bool{}
	for _, a := range want {
		wanted[a] = true
	}
	held := map[string]bool{}
	for _, s := range shards {
		kept := slices.DeleteFunc(slices.Clone(s.arns), func(a string) bool { return !wanted[a] })
		s.changed = len(kept) != len(s.arns)
		s.arns = kept
		for _, a := range kept {
			held[a] = true
		}
	}
	var budgetErr error
	for _, a := range slices.Sorted(slices.Values(want)) {
		if held[a] {
			continue
		}
		placed := false
		for _, s := range shards {
			if size(Document(append(slices.Clone(s.arns), a))) <= MaxPolicyChars {
				s.arns, s.changed, placed = append(s.arns, a), true, true
				break
			}
		}
		if !placed {
			quota := w.Quota
			if quota == 0 {
				quota = DefaultQuota
			}
			if attached >= quota {
				budgetErr = fmt.Errorf("role %s's %w: %d of %d managed policies attached, %d instance(s) not denied",
					role, ErrBudgetFull, attached, quota, countMissing(want, shards, a))
				break
			}
			s := &shard{n: nextN(shards), arns: []string{a}, changed: true}
			s.arn = w.policyARN(role, s.n)
			shards = append(shards, s)
			attached++
		}
		held[a] = true
	}
	for _, s := range shards {
		if !s.changed {
			continue
		}
		if err := w.write(ctx, role, s, &res); err != nil {
			return res, fmt.Errorf("writing deny policy %s on role %s: %w", s.arn, role, err)
		}
		res.Changed = append(res.Changed, s.arn)
	}
	for _, s := range shards {
		if len(s.arns) > 0 {
			res.Policies = append(res.Policies, s.arn)
			res.Written = append(res.Written, s.arns...)
		}
	}
	slices.Sort(res.Written)
	if budgetErr != nil {
		return res, budgetErr
	}
	return res, nil
}

func countMissing(want []string, shards []*shard, _ string) int {
	in := map[string]bool{}
	for _, s := range shards {
		for _, a := range s.arns {
			in[a] = true
		}
	}
	n := 0
	for _, a := range want {
		if !in[a] {
			n++
		}
	}
	return n
}

func nextN(shards []*shard) int {
	n := 1
	for slices.ContainsFunc(shards, func(s *shard) bool { return s.n == n }) {
		n++
	}
	return n
}

// Denied is the instance ARNs the role's deny policies name, as IAM holds
// them now.
func (w Writer) Denied(ctx context.Context, role string) ([]string, error) {
	var res Result
	shards, _, err := w.read(ctx, role, &res)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range shards {
		out = append(out, s.arns...)
	}
	return out, nil
}

// read lists the role's attached policies and reads Firebreak's.
func (w Writer) read(ctx context.Context, role string, res *Result) ([]*shard, int, error) {
	prefix := PolicyARNPrefix(w.Partition, w.Account, role)
	var shards []*shard
	attached := 0
	in := &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)}
	for {
		res.Calls++
		page, err := w.IAM.ListAttachedRolePolicies(ctx, in)
		if err != nil {
			return nil, 0, fmt.Errorf("listing the policies of role %s: %w", role, err)
		}
		for _, p := range page.AttachedPolicies {
			attached++
			arn := aws.ToString(p.PolicyArn)
			if n, err := strconv.Atoi(strings.TrimPrefix(arn, prefix)); strings.HasPrefix(arn, prefix) && err == nil {
				shards = append(shards, &shard{n: n, arn: arn, attached: true})
			}
		}
		if !page.IsTruncated {
			break
		}
		in.Marker = page.Marker
	}
	for _, s := range shards {
		arns, err := w.arnsOf(ctx, s.arn, res)
		if err != nil {
			return nil, 0, err
		}
		s.arns = arns
	}
	slices.SortFunc(shards, func(a, b *shard) int { return a.n - b.n })
	return shards, attached, nil
}

func (w Writer) arnsOf(ctx context.Context, arn string, res *Result) ([]string, error) {
	res.Calls += 2
	p, err := w.IAM.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("reading deny policy %s: %w", arn, err)
	}
	v, err := w.IAM.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: p.Policy.DefaultVersionId})
	if err != nil {
		return nil, fmt.Errorf("reading deny policy %s: %w", arn, err)
	}
	// IAM returns documents URL-encoded (RFC 3986).
	raw, err := url.QueryUnescape(aws.ToString(v.PolicyVersion.Document))
	if err != nil {
		return nil, fmt.Errorf("decoding deny policy %s: %w", arn, err)
	}
	return ARNs(raw)
}

// ARNs are the instance ARNs a deny policy document names.
func ARNs(doc string) ([]string, error) {
	var d struct {
		Statement []struct {
			Sid       string
			Condition map[string]map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return nil, fmt.Errorf("reading a deny policy document: %w", err)
	}
	var out []string
	for _, st := range d.Statement {
		raw, ok := st.Condition["ArnEquals"]["ec2:SourceInstanceARN"]
		if st.Sid != sid || !ok {
			continue
		}
		var list []string
		if json.Unmarshal(raw, &list) != nil {
			var one string
			if err := json.Unmarshal(raw, &one); err != nil {
				return nil, fmt.Errorf("reading a deny policy document: %w", err)
			}
			list = []string{one}
		}
		out = append(out, list...)
	}
	return out, nil
}

// write puts one policy in its new state: a new default version (making
// room among IAM's five), a new attached policy, or an emptied one removed.
func (w Writer) write(ctx context.Context, role string, s *shard, res *Result) error {
	if len(s.arns) == 0 {
		return w.remove(ctx, role, s, res)
	}
	doc := aws.String(Document(s.arns))
	if !s.attached {
		res.Calls++
		_, err := w.IAM.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(PolicyName(role, s.n)), Path: aws.String(contract.DenyPolicyPath),
			PolicyDocument: doc, Description: aws.String("Firebreak: denies contained instances' sessions of role " + role),
			Tags: []iamtypes.Tag{{Key: aws.String(contract.TagManaged), Value: aws.String("true")}}})
		switch {
		case awserr.Is(err, "EntityAlreadyExists"):
			// Left unattached by an earlier run that stopped half-way.
			if err := w.newVersion(ctx, s.arn, doc, res); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		res.Calls++
		_, err = w.IAM.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(s.arn)})
		if awserr.Is(err, "LimitExceeded") {
			return fmt.Errorf("role %s's %w: IAM refused another managed policy (%w)", role, ErrBudgetFull, err)
		}
		return err
	}
	return w.newVersion(ctx, s.arn, doc, res)
}

func (w Writer) newVersion(ctx context.Context, arn string, doc *string, res *Result) error {
	for attempt := 0; ; attempt++ {
		res.Calls++
		_, err := w.IAM.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(arn), PolicyDocument: doc, SetAsDefault: true})
		if !awserr.Is(err, "LimitExceeded") || attempt > 0 {
			return err
		}
		if err := w.dropOldVersions(ctx, arn, maxVersions-1, res); err != nil {
			return err
		}
	}
}

// dropOldVersions deletes the oldest non-default versions until keep are left.
func (w Writer) dropOldVersions(ctx context.Context, arn string, keep int, res *Result) error {
	res.Calls++
	vs, err := w.IAM.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: aws.String(arn)})
	if err != nil {
		return err
	}
	versions := vs.Versions // newest first
	for i := len(versions) - 1; i >= 0 && len(versions) > keep; i-- {
		if versions[i].IsDefaultVersion {
			continue
		}
		res.Calls++
		if _, err := w.IAM.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(arn), VersionId: versions[i].VersionId}); err != nil {
			return err
		}
		versions = slices.Delete(versions, i, i+1)
	}
	return nil
}

func (w Writer) remove(ctx context.Context, role string, s *shard, res *Result) error {
	res.Calls++
	if _, err := w.IAM.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(s.arn)}); err != nil && !awserr.Is(err, "NoSuchEntity") {
		return err
	}
	if err := w.dropOldVersions(ctx, s.arn, 1, res); err != nil && !awserr.Is(err, "NoSuchEntity") {
		return err
	}
	res.Calls++
	if _, err := w.IAM.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(s.arn)}); err != nil && !awserr.Is(err, "NoSuchEntity") {
		return err
	}
	return nil
}
