package handler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/finding"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
	"github.com/firebreak-ir/firebreak/internal/securityhub"
)

// writeBack writes the containment to the finding in Security Hub, once the
// runbook is done and before the report goes out, so the report says what
// happened. It never fails or delays the containment: errors go in
// rep.SecurityHub, and what could not be written yet (the finding not yet
// imported, throttling) is written when the next event for the finding
// arrives, which the instance's record tag makes cheap: a re-delivery that
// finds the update written calls nothing. It returns the work that keeps the
// new record on the instance (nil when nothing changed).
func (h *Handler) writeBack(ctx context.Context, in *finding.Input, rep *report.Report, prior map[string]string, runErr error) func() {
	if rep.Decision != report.Contain || h.cfg.SecurityHub == contract.SecurityHubOff {
		return nil
	}
	findings := securityhub.Findings(in, rep.InstanceID)
	status, contained := containedStatus(rep, prior, runErr)
	switch {
	case len(findings) == 0:
		rep.SecurityHub = &report.SecurityHub{Status: report.NotApplicable, Detail: "no Security Hub finding names this instance (a manual request)"}
		return nil
	case !contained:
		rep.SecurityHub = &report.SecurityHub{Status: report.Skipped, Detail: "the instance is not contained: nothing written; the retry writes it once it is"}
		return nil
	case rep.DryRun:
		rep.SecurityHub = &report.SecurityHub{Status: report.Planned,
			Detail: fmt.Sprintf("would write a note and the status %q on %d finding(s), and set them NOTIFIED (Security Hub CSPM) and In Progress (Security Hub)", status, len(findings))}
		return nil
	}
	api, err := h.clients.For(ctx, rep.AccountID, rep.Region)
	if err == nil && api.SecurityHub == nil {
		err = errors.New("none configured")
	}
	if err != nil {
		rep.SecurityHub = &report.SecurityHub{Status: report.Failed, Detail: fmt.Sprintf("no Security Hub client for %s in %s: %v", rep.AccountID, rep.Region, err)}
		return nil
	}
	u := h.securityHubUpdate(rep, prior, status, findings)
	before := securityhub.ParseRecord(prior[contract.TagSecurityHub])
	entry, after := securityhub.Writer{API: api.SecurityHub, Mode: h.cfg.SecurityHub}.Write(ctx, u, before)
	rep.SecurityHub = &entry
	h.log.InfoContext(ctx, "security hub write-back", "instance", rep.InstanceID, "status", entry.Status, "detail", entry.Detail)
	if after.String() == before.String() {
		return nil
	}
	return func() { h.keepRecord(ctx, api.EC2, rep.InstanceID, after) }
}

// keepRecord writes the Security Hub record on the instance, beside its
// status tag. Losing it costs one more Security Hub call on the next event.
func (h *Handler) keepRecord(ctx context.Context, c awsapi.EC2, instanceID string, rec securityhub.Record) {
	_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{instanceID},
		Tags: []ec2types.Tag{{Key: aws.String(contract.TagSecurityHub), Value: aws.String(rec.String())}}})
	if err != nil {
		h.log.ErrorContext(ctx, "could not record the Security Hub write-back on the instance", "instance", instanceID, "error", err)
	}
}

// containedStatus is the status the write-back reports, and whether the
// instance is isolated at all (nothing is written about an instance that
// is not).
func containedStatus(rep *report.Report, prior map[string]string, runErr error) (string, bool) {
	if rep.AlreadyContained {
		return orDefault(prior[contract.TagStatus], contract.StatusContained), true
	}
	// In a dry run, planned isolation stands for what would be done.
	if s := rep.Step(report.StepIsolate); s == nil || s.Status != report.Done && !(rep.DryRun && s.Status == report.Planned) {
		return "", false
	}
	if errors.Is(runErr, ErrIncomplete) {
		return contract.StatusPartial, true
	}
	return contract.StatusContained, true
}

// securityHubUpdate is what the finding gets: a note for the person reading
// it, Firebreak's fields for filters and automation rules, and NOTIFIED /
// In Progress. The note is built from values Firebreak checked (instance id,
// sanitised case id, snapshot ids, its own bucket): never from the finding's
// title or anything else an attacker chooses.
func (h *Handler) securityHubUpdate(rep *report.Report, prior map[string]string, status string, findings []securityhub.Finding) securityhub.Update {
	caseID, at := rep.CaseID, rep.StartedAt.Format(time.RFC3339)
	if rep.AlreadyContained {
		caseID, at = orDefault(prior[contract.TagCaseID], caseID), orDefault(prior[contract.TagContainedAt], at)
	}
	evidence := "s3://" + h.cfg.EvidenceBucket + "/" + runbook.EvidenceKey(rep.AccountID, rep.Region, rep.InstanceID, caseID, "capture.json")
	if rep.Evidence != nil {
		evidence = "s3://" + rep.Evidence.Bucket + "/" + rep.Evidence.Key
	}
	var note strings.Builder
	switch {
	case rep.AlreadyContained:
		fmt.Fprintf(&note, "Firebreak: instance %s is already contained (since %s, case %s); nothing repeated.", rep.InstanceID, at, caseID)
	case status == contract.StatusPartial:
		fmt.Fprintf(&note, "Firebreak isolated instance %s at %s (case %s); failed steps are being retried:", rep.InstanceID, at, caseID)
		for _, s := range rep.Failed() {
			fmt.Fprintf(&note, " %s (%s)", s.Name, s.Error)
		}
		note.WriteString(".")
	default:
		fmt.Fprintf(&note, "Firebreak contained instance %s at %s (case %s): network isolated, out of its Auto Scaling group and load balancers.", rep.InstanceID, at, caseID)
	}
	if len(rep.Snapshots) > 0 {
		var ids []string
		for _, s := range rep.Snapshots {
			ids = append(ids, s.ID)
		}
		fmt.Fprintf(&note, " Snapshots: %s", strings.Join(ids, ", "))
		if l := rep.Snapshots[0]; l.LockMode != "" {
			fmt.Fprintf(&note, " (locked, %s)", l.LockMode)
		}
		note.WriteString(".")
	}
	fmt.Fprintf(&note, " Evidence: %s. Firebreak never resolves a finding: a person does.", evidence)
	return securityhub.Update{
		Findings: findings, Note: note.String(), InProgress: true, Key: status,
		Fields: map[string]string{
			contract.TagStatus:      status,
			contract.TagCaseID:      caseID,
			contract.TagInstanceID:  rep.InstanceID,
			contract.TagContainedAt: at,
			"firebreak:evidence":    evidence,
		},
	}
}
