package release

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/async"
	"github.com/firebreak-ir/firebreak/internal/awserr"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// networkACL removes the hard cut: an entry goes only if the containment's
// reports record it as added, it still matches exactly (ACL, rule number,
// direction, CIDR, DENY, all protocols), and the pre-change record shows no
// such entry. An owner's rule that reused the number, or one that was there
// before, is kept and reported.
func (r *run) networkACL(ctx context.Context) report.Step {
	added, pre := r.ev.added, r.ev.record.NetworkACLs
	switch {
	case r.ev.addedErr != nil:
		return failedStep(report.StepNetworkACL, "the containment's reports could not be read, so no entry is known to be Firebreak's: none removed",
			r.ev.addedErr, nil)
	case len(added) == 0:
		return report.Step{Name: report.StepNetworkACL, Status: report.NotApplicable, Detail: "the containment added no network ACL entry"}
	case pre == nil:
		var left []string
		for _, e := range added {
			left = append(left, describeEntry(e))
		}
		return report.Step{Name: report.StepNetworkACL, Status: report.Failed, Error: "NotRecorded", Actions: left,
			Detail: "the record holds no pre-change network ACLs, so an entry cannot be proven Firebreak's alone: the entries listed are left in place; remove them by hand"}
	}
	var ids []string
	for _, e := range added {
		if !slices.Contains(ids, e.NetworkACLID) {
			ids = append(ids, e.NetworkACLID)
		}
	}
	// One ACL at a time: one deleted must not hide the others.
	acls := make([]*ec2types.NetworkAcl, len(ids))
	readErrs := async.Each(indexes(len(ids)), func(i int) error {
		out, err := r.api.EC2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{NetworkAclIds: []string{ids[i]}})
		switch {
		case awserr.Is(err, "InvalidNetworkAclID.NotFound"):
			return nil
		case err != nil:
			return fmt.Errorf("reading %s: %w", ids[i], err)
		case len(out.NetworkAcls) == 1:
			acls[i] = &out.NetworkAcls[0]
		}
		return nil
	})
	var todo []report.NACLEntry
	var notes []string
	for _, e := range added {
		i := slices.Index(ids, e.NetworkACLID)
		if readErrs[i] != nil {
			continue
		}
		acl := acls[i]
		if acl == nil {
			notes = append(notes, fmt.Sprintf("%s no longer exists: nothing to remove", e.NetworkACLID))
			continue
		}
		cur := entryAt(acl.Entries, e.Egress, e.RuleNumber)
		switch {
		case cur == nil:
			notes = append(notes, describeEntry(e)+": already removed")
		case !sameDeny(*cur, e):
			notes = append(notes, fmt.Sprintf("%s: rule %d now says %s; not Firebreak's entry any more, kept", describeEntry(e), e.RuleNumber, ruleText(*cur)))
		case wasThere(pre, e):
			notes = append(notes, describeEntry(e)+": there before the containment, kept")
		default:
			todo = append(todo, e)
		}
	}
	errs := async.Each(todo, func(e report.NACLEntry) error {
		_, err := r.api.EC2.DeleteNetworkAclEntry(ctx, &ec2.DeleteNetworkAclEntryInput{NetworkAclId: aws.String(e.NetworkACLID),
			RuleNumber: aws.Int32(e.RuleNumber), Egress: aws.Bool(e.Egress), DryRun: aws.Bool(r.req.DryRun)})
		if r.req.DryRun {
			err = awserr.DryRunOK(err)
		}
		if err != nil && !awserr.Is(err, "InvalidNetworkAclEntry.NotFound") {
			return fmt.Errorf("removing %s: %w", describeEntry(e), err)
		}
		return nil
	})
	var actions []string
	for i, e := range todo {
		if errs[i] == nil {
			actions = append(actions, r.verb("remove "+describeEntry(e)))
		}
	}
	actions = append(actions, notes...)
	return r.finish(outcome{name: report.StepNetworkACL, changed: len(todo), err: awserr.Join(append(readErrs, errs...)), actions: actions,
		failed:    "some deny entries are still in place; the instance cannot reach the subnets they guard",
		unchanged: "no entry of the hard cut left to remove", done: fmt.Sprintf("%d deny entries %s", len(todo), r.past("removed", "would be removed"))})
}

func entryAt(entries []ec2types.NetworkAclEntry, egress bool, rule int32) *ec2types.NetworkAclEntry {
	for i, e := range entries {
		if aws.ToBool(e.Egress) == egress && aws.ToInt32(e.RuleNumber) == rule {
			return &entries[i]
		}
	}
	return nil
}

// sameDeny reports whether an entry is exactly the deny Firebreak made.
func sameDeny(e ec2types.NetworkAclEntry, want report.NACLEntry) bool {
	return e.RuleAction == ec2types.RuleActionDeny && aws.ToString(e.Protocol) == "-1" &&
		aws.ToString(e.CidrBlock)+aws.ToString(e.Ipv6CidrBlock) == want.CIDR && e.PortRange == nil && e.IcmpTypeCode == nil
}

// wasThere reports whether the pre-change ACL already had this very entry.
func wasThere(pre []ec2types.NetworkAcl, e report.NACLEntry) bool {
	for _, acl := range pre {
		if aws.ToString(acl.NetworkAclId) != e.NetworkACLID {
			continue
		}
		if old := entryAt(acl.Entries, e.Egress, e.RuleNumber); old != nil && sameDeny(*old, e) {
			return true
		}
	}
	return false
}

func describeEntry(e report.NACLEntry) string {
	dir := "ingress"
	if e.Egress {
		dir = "egress"
	}
	return fmt.Sprintf("%s rule %d %s deny %s", e.NetworkACLID, e.RuleNumber, dir, e.CIDR)
}

func ruleText(e ec2types.NetworkAclEntry) string {
	return fmt.Sprintf("%s %s protocol %s", e.RuleAction, aws.ToString(e.CidrBlock)+aws.ToString(e.Ipv6CidrBlock), aws.ToString(e.Protocol))
}
