package runbook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// facts are the reads of round trip 2, shared by the evidence and the steps
// that act on them, so nothing is asked of AWS twice.
type facts struct {
	asg     *future[*asgtypes.AutoScalingInstanceDetails]
	lbs     *future[lbMembership]
	classic *future[[]string]
	rules   *future[[]ec2types.SecurityGroupRule]
	volumes *future[[]ec2types.Volume]
	profile *future[[]ec2types.IamInstanceProfileAssociation]
	console *future[string]
	// attributes are the ones protect changes, read before it does.
	attributes *future[InstanceAttributes]
	nacls      *future[[]ec2types.NetworkAcl]
	snapshots  *future[[]ec2types.Snapshot]
	// claim is false when a concurrent invocation for the same instance
	// claimed the snapshot first.
	claim *future[bool]

	// detachIssued closes once detach has been sent (or is known to be
	// unnecessary): the final isolation swap waits for it.
	detachIssued chan struct{}
	closeDetach  sync.Once
	// swapIssued receives once: true when every interface's final swap was
	// sent, false when isolation stopped before that.
	swapIssued chan bool
}

func (f *facts) markDetachIssued() { f.closeDetach.Do(func() { close(f.detachIssued) }) }

func (r *run) gather(ctx context.Context) *facts {
	id := r.inst.ID
	f := &facts{detachIssued: make(chan struct{}), swapIssued: make(chan bool, 1)}
	f.asg = async(func() (*asgtypes.AutoScalingInstanceDetails, error) {
		out, err := r.api.AutoScaling.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{id}})
		if err != nil {
			return nil, fmt.Errorf("describing Auto Scaling membership of %s: %w", id, err)
		}
		for _, d := range out.AutoScalingInstances {
			if aws.ToString(d.InstanceId) == id {
				return &d, nil
			}
		}
		return nil, nil
	})
	f.classic = async(func() ([]string, error) { return r.scanClassic(ctx) })
	f.lbs = async(func() (lbMembership, error) { return r.scanLoadBalancers(ctx, f.classic) })
	f.rules = async(func() ([]ec2types.SecurityGroupRule, error) {
		groups := r.inst.groupIDs()
		if len(groups) == 0 {
			return nil, nil
		}
		var rules []ec2types.SecurityGroupRule
		p := ec2.NewDescribeSecurityGroupRulesPaginator(r.api.EC2, &ec2.DescribeSecurityGroupRulesInput{
			Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: groups}}})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return rules, fmt.Errorf("describing the rules of %v: %w", groups, err)
			}
			rules = append(rules, page.SecurityGroupRules...)
		}
		return rules, nil
	})
	f.volumes = async(func() ([]ec2types.Volume, error) {
		out, err := r.api.EC2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{
			Filters: []ec2types.Filter{{Name: aws.String("attachment.instance-id"), Values: []string{id}}}})
		if err != nil {
			return nil, fmt.Errorf("describing volumes of %s: %w", id, err)
		}
		return out.Volumes, nil
	})
	f.profile = async(func() ([]ec2types.IamInstanceProfileAssociation, error) {
		out, err := r.api.EC2.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{
			Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: []string{id}}}})
		if err != nil {
			return nil, fmt.Errorf("describing the instance profile of %s: %w", id, err)
		}
		return out.IamInstanceProfileAssociations, nil
	})
	f.console = async(func() (string, error) {
		out, err := r.api.EC2.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: aws.String(id), Latest: aws.Bool(true)})
		if err != nil && !hasCode(err, "UnauthorizedOperation") {
			// Latest is a Nitro feature: ask again for what other instances keep.
			out, err = r.api.EC2.GetConsoleOutput(ctx, &ec2.GetConsoleOutputInput{InstanceId: aws.String(id)})
		}
		if err != nil {
			return "", fmt.Errorf("getting console output of %s: %w", id, err)
		}
		b, err := base64.StdEncoding.DecodeString(aws.ToString(out.Output))
		if err != nil {
			return aws.ToString(out.Output), nil
		}
		return string(b), nil
	})
	f.attributes = async(func() (InstanceAttributes, error) { return r.readAttributes(ctx) })
	f.nacls = async(func() ([]ec2types.NetworkAcl, error) {
		if !r.opt.NACL {
			return nil, nil
		}
		out, err := r.api.EC2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{
			Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: r.inst.vpcs()}}})
		if err != nil {
			return nil, fmt.Errorf("describing network ACLs of %v: %w", r.inst.vpcs(), err)
		}
		return out.NetworkAcls, nil
	})
	f.snapshots = async(func() ([]ec2types.Snapshot, error) {
		out, err := r.api.EC2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"},
			Filters: []ec2types.Filter{{Name: aws.String("tag:" + contract.TagInstanceID), Values: []string{id}}}})
		if err != nil {
			return nil, fmt.Errorf("looking for earlier snapshots of %s: %w", id, err)
		}
		return out.Snapshots, nil
	})
	f.claim = async(func() (bool, error) { return r.claimSnapshots(ctx), nil })
	return f
}

// claimSnapshots makes sure one invocation only snapshots an instance when
// several findings for it arrive at once (CreateSnapshots has no idempotency
// token, and both would see no earlier snapshot). The claim is an object that
// only the first writer creates, keyed on the instance's state as read before
// any change, and the hour: a retry after a change, or a later containment,
// claims anew. It fails open: without the bucket, the tag check still applies.
func (r *run) claimSnapshots(ctx context.Context) bool {
	if r.t.DryRun {
		return true
	}
	h := sha256.New()
	fmt.Fprintln(h, r.inst.ID, r.inst.Tags[contract.TagStatus], r.now.Format("2006010215"))
	for _, e := range r.inst.ENIs {
		fmt.Fprintln(h, e.ID, e.Groups)
	}
	// Beside the cases, not inside one: two findings make two case ids.
	key := path.Join(r.t.AccountID, r.t.Region, r.t.InstanceID, "snapshot-claim-"+hex.EncodeToString(h.Sum(nil))[:16])
	body := []byte(r.t.CaseID)
	sum := sha256.Sum256(body)
	// Not retried blindly by the SDK: a retry of a write whose answer was
	// lost would find its own claim and give up the snapshots.
	_, err := r.putEvidence(ctx, key, body, sum[:], true, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	lost := false
	for attempt := 1; err != nil && retryable.IsErrorRetryable(err) == aws.TrueTernary && attempt < unsafeAttempts; attempt++ {
		lost = true
		select {
		case <-ctx.Done():
			return true
		case <-time.After(r.opt.RetryBase):
		}
		_, err = r.putEvidence(ctx, key, body, sum[:], true, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	}
	switch {
	case hasCode(err, "PreconditionFailed") && !lost:
		return false
	case err != nil && !hasCode(err, "PreconditionFailed"):
		r.log.WarnContext(ctx, "snapshot claim not written; relying on the snapshot tags", "error", err)
	}
	// A claim found after a lost answer is most likely our own: snapshot
	// (the tag check still stops a set taken by someone else).
	return true
}

// Record is the pre-change evidence: enough to investigate, and to undo the
// isolation, the detach and the deregistration.
type Record struct {
	CapturedAt         time.Time                                `json:"capturedAt"`
	AccountID          string                                   `json:"accountId"`
	Region             string                                   `json:"region"`
	CaseID             string                                   `json:"caseId"`
	Instance           ec2types.Instance                        `json:"instance"`
	NetworkInterfaces  []ENIRecord                              `json:"networkInterfaces"`
	SecurityGroupRules []ec2types.SecurityGroupRule             `json:"securityGroupRules"`
	AutoScaling        *asgtypes.AutoScalingInstanceDetails     `json:"autoScaling"`
	ClassicLBs         []string                                 `json:"classicLoadBalancers"`
	Targets            []TargetRecord                           `json:"targetGroupMemberships"`
	Volumes            []ec2types.Volume                        `json:"volumes"`
	InstanceProfile    []ec2types.IamInstanceProfileAssociation `json:"instanceProfileAssociations"`
	ConsoleOutput      string                                   `json:"consoleOutput"`
	// Attributes are those protect changes, as they were before.
	Attributes *InstanceAttributes `json:"attributes,omitempty"`
	// NetworkACLs are the network ACLs of the instance's VPCs before the hard
	// cut (sg+nacl only): release removes no entry that was already there.
	NetworkACLs []ec2types.NetworkAcl `json:"networkAcls,omitempty"`
	Event       json.RawMessage       `json:"event,omitempty"`
	// Gaps names every part that could not be read, with the reason.
	Gaps map[string]string `json:"gaps,omitempty"`
}

// ENIRecord is an interface's pre-change groups, for undoing the isolation.
type ENIRecord struct {
	ID     string   `json:"networkInterfaceId"`
	VPC    string   `json:"vpcId"`
	Subnet string   `json:"subnetId"`
	Groups []string `json:"groups"`
	IPv4   []string `json:"privateIpAddresses"`
	IPv6   []string `json:"ipv6Addresses"`
}

type captured struct {
	step     report.Step
	evidence *report.Evidence
}

// capture writes the pre-change record to the evidence bucket with its SHA-256.
func (r *run) capture(ctx context.Context, f *facts) captured {
	rec := Record{CapturedAt: r.now, AccountID: r.t.AccountID, Region: r.t.Region, CaseID: r.t.CaseID,
		Instance: r.inst.raw, Gaps: map[string]string{}}
	if json.Valid(r.t.Event) {
		rec.Event = r.t.Event
	}
	for _, e := range r.inst.ENIs {
		rec.NetworkInterfaces = append(rec.NetworkInterfaces, ENIRecord{ID: e.ID, VPC: e.VPC, Subnet: e.Subnet, Groups: e.Groups, IPv4: e.IPv4, IPv6: e.IPv6})
	}
	gap := func(part string, err error) {
		if err != nil {
			rec.Gaps[part] = err.Error()
		}
	}
	var err error
	rec.AutoScaling, err = f.asg.wait()
	gap("autoScaling", err)
	lbs, err := f.lbs.wait()
	gap("loadBalancers", err)
	rec.ClassicLBs, rec.Targets = lbs.classic, lbs.targets
	rec.SecurityGroupRules, err = f.rules.wait()
	gap("securityGroupRules", err)
	rec.Volumes, err = f.volumes.wait()
	gap("volumes", err)
	rec.InstanceProfile, err = f.profile.wait()
	gap("instanceProfile", err)
	if attrs, err := f.attributes.wait(); err != nil {
		gap("attributes", err)
	} else {
		rec.Attributes = &attrs
	}
	if r.opt.NACL {
		rec.NetworkACLs, err = f.nacls.wait()
		gap("networkAcls", err)
	}
	rec.ConsoleOutput, err = f.console.wait()
	// Console output is best effort: many instances have none, and it is not
	// needed to undo anything.
	consoleGap := err

	body, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return captured{step: failed(report.StepCapture, "could not encode the evidence record", err, nil)}
	}
	sum := sha256.Sum256(body)
	ev := &report.Evidence{Bucket: r.opt.EvidenceBucket, Key: r.evidenceKey("capture.json"), SHA256: hex.EncodeToString(sum[:])}
	action := fmt.Sprintf("write s3://%s/%s (sha256 %s)", ev.Bucket, ev.Key, ev.SHA256)
	detail := fmt.Sprintf("%d network interfaces, %d volumes, %d target group memberships, %d classic load balancers",
		len(rec.NetworkInterfaces), len(rec.Volumes), len(rec.Targets), len(rec.ClassicLBs))
	if consoleGap != nil {
		detail += "; console output unavailable (" + errorCode(consoleGap) + ")"
	}
	if r.t.DryRun {
		return captured{step: step(report.StepCapture, report.Planned, []string{action}, "read %s; evidence not written in a dry run", detail)}
	}
	// The first attempt's record is the pre-change one: a retry never
	// overwrites it, and keeps its own (post-change) record beside it.
	put, err := r.putEvidence(ctx, ev.Key, body, sum[:], true)
	preChange := err == nil
	if hasCode(err, "PreconditionFailed") {
		first := ev.Key
		ev.Key = r.evidenceKey("capture-" + r.now.Format("20060102T150405.000Z") + ".json")
		action = fmt.Sprintf("write s3://%s/%s (sha256 %s)", ev.Bucket, ev.Key, ev.SHA256)
		detail += "; an earlier attempt's pre-change record is kept at " + first
		_, err = r.putEvidence(ctx, ev.Key, body, sum[:], false)
	}
	if err != nil {
		return captured{step: failed(report.StepCapture, "evidence read but not stored: "+detail, err, []string{action})}
	}
	actions := []string{action}
	if preChange {
		// Only the pre-change record is named on the instance: release
		// restores from it and from nothing else.
		tagged, err := r.tagEvidence(ctx, ev.SHA256, put.VersionId)
		actions = append(actions, tagged)
		if err != nil {
			return captured{evidence: ev, step: report.Step{Name: report.StepCapture, Status: report.Failed, Error: "EvidenceNotTagged",
				Message: err.Error(), Actions: actions,
				Detail: "evidence stored, but its digest and version are not on the instance: the release function will refuse it; restore by hand from " + ev.Key}}
		}
	}
	if len(rec.Gaps) > 0 {
		return captured{evidence: ev, step: report.Step{Name: report.StepCapture, Status: report.Failed, Error: "Incomplete",
			Message: fmt.Sprintf("parts not captured: %v", rec.Gaps), Detail: "evidence stored with gaps: " + detail, Actions: actions}}
	}
	return captured{evidence: ev, step: step(report.StepCapture, report.Done, actions, "evidence stored: %s", detail)}
}

// tagEvidence records the stored record's SHA-256 and S3 version on the
// instance, so release can load exactly that version and check it. A bucket
// without versioning keeps one version, which S3 calls "null".
func (r *run) tagEvidence(ctx context.Context, sha string, version *string) (string, error) {
	v := aws.ToString(version)
	if v == "" {
		v = "null"
	}
	tags := map[string]string{contract.TagEvidenceSHA256: sha, contract.TagEvidenceVersion: v}
	action := fmt.Sprintf("tag %s %s=%s %s=%s", r.inst.ID, contract.TagEvidenceSHA256, sha, contract.TagEvidenceVersion, v)
	if _, err := r.api.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{r.inst.ID}, Tags: ec2Tags(tags)}); err != nil {
		return action, fmt.Errorf("tagging %s with its evidence digest: %w", r.inst.ID, err)
	}
	return action, nil
}

// InstanceAttributes are the instance attributes protect changes, as they
// were before it did. Nil means the attribute was not read.
type InstanceAttributes struct {
	DisableAPITermination *bool  `json:"disableApiTermination,omitempty"`
	ShutdownBehavior      string `json:"instanceInitiatedShutdownBehavior,omitempty"`
}

// readAttributes asks for each attribute protect changes, one per call as
// DescribeInstanceAttribute answers, both at once.
func (r *run) readAttributes(ctx context.Context) (InstanceAttributes, error) {
	var a InstanceAttributes
	names := []ec2types.InstanceAttributeName{ec2types.InstanceAttributeNameDisableApiTermination, ec2types.InstanceAttributeNameInstanceInitiatedShutdownBehavior}
	errs := each(names, func(name ec2types.InstanceAttributeName) error {
		if name == ec2types.InstanceAttributeNameDisableApiTermination && r.reads.termination != nil {
			// Read beside DescribeInstances, before any change.
			on, err := r.reads.termination.wait()
			a.DisableAPITermination = aws.Bool(on)
			return err
		}
		out, err := r.api.EC2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(r.inst.ID), Attribute: name})
		if err != nil {
			return fmt.Errorf("reading %s of %s: %w", name, r.inst.ID, err)
		}
		switch {
		case out.DisableApiTermination != nil:
			a.DisableAPITermination = aws.Bool(aws.ToBool(out.DisableApiTermination.Value))
		case out.InstanceInitiatedShutdownBehavior != nil:
			a.ShutdownBehavior = aws.ToString(out.InstanceInitiatedShutdownBehavior.Value)
		}
		return nil
	})
	return a, joinErrs(errs)
}

func (r *run) evidenceKey(name string) string {
	return EvidenceKey(r.t.AccountID, r.t.Region, r.t.InstanceID, r.t.CaseID, name)
}

// EvidenceKey is where a containment's objects live in the evidence bucket.
func EvidenceKey(account, region, instanceID, caseID, name string) string {
	return path.Join(account, region, instanceID, caseID, name)
}

// putEvidence stores an object with a SHA-256 checksum that S3 verifies; an
// Object Lock bucket requires one.
func (r *run) putEvidence(ctx context.Context, key string, body, sum []byte, onlyNew bool, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	var ifNoneMatch *string
	if onlyNew {
		ifNoneMatch = aws.String("*")
	}
	out, err := r.api.S3.PutObject(ctx, &s3.PutObjectInput{
		IfNoneMatch:       ifNoneMatch,
		Bucket:            aws.String(r.opt.EvidenceBucket),
		Key:               aws.String(key),
		Body:              bytes.NewReader(body),
		ContentType:       aws.String("application/json"),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256,
		ChecksumSHA256:    aws.String(base64.StdEncoding.EncodeToString(sum)),
		Metadata:          map[string]string{"sha256": hex.EncodeToString(sum)},
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("writing s3://%s/%s: %w", r.opt.EvidenceBucket, key, err)
	}
	return out, nil
}
