package rolepolicy_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/rolepolicy"
)

func arns(from, n int) []string {
	var out []string
	for i := from; i < from+n; i++ {
		out = append(out, rolepolicy.InstanceARN("aws", "us-east-1", "123456789012", fmt.Sprintf("i-%017x", i)))
	}
	return out
}

func TestSetShardsWithinQuotasAndRewritesOnePolicyPerChange(t *testing.T) {
	w := awsfake.New("123456789012", "us-east-1")
	d := w.SeedDemo("i-0abc123def4567890")
	wr := rolepolicy.Writer{IAM: w.Clients().IAM, Account: "123456789012", Partition: "aws"}
	ctx := context.Background()
	want := arns(0, 200)
	res, err := wr.Set(ctx, d.Role, want)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Written) != 200 || len(res.Policies) != 3 {
		t.Fatalf("written %d in %d policies, want 200 in 3 (about 90 per 6,144-character policy)", len(res.Written), len(res.Policies))
	}
	for _, p := range res.Policies {
		doc, _ := w.PolicyDocument(p)
		got, _ := rolepolicy.ARNs(doc)
		if len(doc) > rolepolicy.MaxPolicyChars || len(got) == 0 {
			t.Errorf("%s: %d characters, %d ARNs", p, len(doc), len(got))
		}
	}
	// One more instance, then one fewer: one policy rewritten each time.
	res, err = wr.Set(ctx, d.Role, append(want, arns(200, 1)...))
	if err != nil || len(res.Changed) != 1 || len(res.Written) != 201 {
		t.Fatalf("adding one: %v, changed %v, written %d", err, res.Changed, len(res.Written))
	}
	res, err = wr.Set(ctx, d.Role, append(want[1:], arns(200, 1)...))
	if err != nil || len(res.Changed) != 1 || len(res.Written) != 200 {
		t.Fatalf("removing one: %v, changed %v, written %d", err, res.Changed, len(res.Written))
	}
	// Versions rotate within IAM's five.
	for i := 0; i < 8; i++ {
		if _, err := wr.Set(ctx, d.Role, append(want[1:], arns(300+i, 1)...)); err != nil {
			t.Fatalf("rewrite %d: %v", i, err)
		}
	}
	// Emptied: detached and deleted, the role back to its own policy.
	if _, err := wr.Set(ctx, d.Role, nil); err != nil {
		t.Fatal(err)
	}
	if got := w.AttachedPolicies(d.Role); len(got) != 1 {
		t.Fatalf("attached after emptying = %v, want only the SSM policy", got)
	}
	if _, ok := w.PolicyDocument(res.Policies[0]); ok {
		t.Fatal("an emptied deny policy was left behind")
	}
}

func TestSetReportsAFullBudget(t *testing.T) {
	w := awsfake.New("123456789012", "us-east-1")
	d := w.SeedDemo("i-0abc123def4567890")
	w.SetManagedPolicyQuota(2) // the SSM policy and one deny policy
	wr := rolepolicy.Writer{IAM: w.Clients().IAM, Account: "123456789012", Partition: "aws", Quota: 2}
	res, err := wr.Set(context.Background(), d.Role, arns(0, 150))
	if !errors.Is(err, rolepolicy.ErrBudgetFull) {
		t.Fatalf("err = %v, want the budget full", err)
	}
	if len(res.Written) == 0 || len(res.Written) >= 150 || len(res.Policies) != 1 {
		t.Fatalf("written %d in %v: the ARNs that fit must be written, the rest reported", len(res.Written), res.Policies)
	}
	t.Log(err)
}
