package runbook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/ledger"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/rolepolicy"
)

// Verification is what a verification of a contained instance found and did.
type Verification struct {
	// Checks holds one step per check, named report.Check*.
	Checks []report.Step
	// Drift lists what had changed since the containment, repaired or not.
	Drift []string
	// Failed is set when a check could not be made or a repair failed.
	Failed bool
	// NACLEntries are the entries the repair re-created (Added): kept with
	// the case's reports, so a release removes them.
	NACLEntries []report.NACLEntry
}

// Drifted reports whether anything had changed since the containment.
func (v *Verification) Drifted() bool { return v != nil && len(v.Drift) > 0 }

// Isolation is the Region's Firebreak groups and their rules, read once for
// one invocation: a sweep verifies every instance against one read. It must
// not outlive the invocation, or it could hide a rule added since.
type Isolation struct {
	read *future[map[string]sharedGroups]
	// repairs makes one invocation empty a shared group once, however many
	// of its instances find the rule.
	mu      sync.Mutex
	repairs map[string]*future[struct{}]
	// roles are the instance roles' state, read once per invocation however
	// many of a sweep's instances share one (a cache that ends with the
	// invocation, so it never hides drift for longer).
	roles map[string]*future[roleState]
}

// roleState is what the credentials check needs of an instance profile's role.
type roleState struct {
	role   string
	exempt bool
	denied []string // the instance ARNs its deny policies name now
}

type sharedGroups struct {
	isolation, allTraffic string
	// rules describes every rule of the isolation group.
	rules []string
}

// ReadIsolation starts reading the isolation groups of the Region.
func (rb *Runbook) ReadIsolation(ctx context.Context) *Isolation {
	return &Isolation{repairs: map[string]*future[struct{}]{}, roles: map[string]*future[roleState]{}, read: async(func() (map[string]sharedGroups, error) {
		in := &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
			{Name: aws.String("tag:" + contract.TagManaged), Values: []string{"true"}},
			{Name: aws.String("tag:" + contract.TagRole), Values: []string{contract.RoleIsolation, contract.RoleAllTraffic}},
		}}
		found := map[string]sharedGroups{}
		p := ec2.NewDescribeSecurityGroupsPaginator(rb.api.EC2, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("reading Firebreak's isolation groups: %w", err)
			}
			for _, sg := range page.SecurityGroups {
				vpc := aws.ToString(sg.VpcId)
				g := found[vpc]
				switch tagValue(sg.Tags, contract.TagRole) {
				case contract.RoleIsolation:
					g.isolation = aws.ToString(sg.GroupId)
					g.rules = slices.Concat(describePerms("ingress", sg.IpPermissions), describePerms("egress", sg.IpPermissionsEgress))
				case contract.RoleAllTraffic:
					g.allTraffic = aws.ToString(sg.GroupId)
				}
				found[vpc] = g
			}
		}
		return found, nil
	})}
}

// repairOnce empties a shared isolation group once per invocation.
func (iso *Isolation) repairOnce(id string, repair func() error) error {
	iso.mu.Lock()
	f, ok := iso.repairs[id]
	if !ok {
		f = async(func() (struct{}, error) { return struct{}{}, repair() })
		iso.repairs[id] = f
	}
	iso.mu.Unlock()
	_, err := f.wait()
	return err
}

// describePerms says what each rule lets through, for the report.
func describePerms(dir string, perms []ec2types.IpPermission) []string {
	var out []string
	for _, p := range perms {
		proto := aws.ToString(p.IpProtocol)
		ports := ""
		if proto != "-1" && p.FromPort != nil {
			ports = fmt.Sprintf(" %d-%d", aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort))
		}
		var peers []string
		for _, r := range p.IpRanges {
			peers = append(peers, aws.ToString(r.CidrIp))
		}
		for _, r := range p.Ipv6Ranges {
			peers = append(peers, aws.ToString(r.CidrIpv6))
		}
		for _, r := range p.UserIdGroupPairs {
			peers = append(peers, aws.ToString(r.GroupId))
		}
		for _, r := range p.PrefixListIds {
			peers = append(peers, aws.ToString(r.PrefixListId))
		}
		out = append(out, fmt.Sprintf("%s %s%s %s", dir, proto, ports, strings.Join(peers, ",")))
	}
	return out
}

// verifyReads are the reads made beside DescribeInstances: they need only
// the instance id, so a re-delivery stays at one round trip.
type verifyReads struct {
	iso         *Isolation
	termination *future[bool]
}

func (rb *Runbook) startVerifyReads(ctx context.Context, id string, iso *Isolation) verifyReads {
	if iso == nil {
		iso = rb.ReadIsolation(ctx)
	}
	return verifyReads{iso: iso, termination: async(func() (bool, error) {
		out, err := rb.api.EC2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(id),
			Attribute: ec2types.InstanceAttributeNameDisableApiTermination})
		if err != nil {
			return false, fmt.Errorf("reading the termination protection of %s: %w", id, err)
		}
		return out.DisableApiTermination != nil && aws.ToBool(out.DisableApiTermination.Value), nil
	})}
}

// VerifyTarget is one contained instance to verify.
type VerifyTarget struct {
	InstanceID, AccountID, Region string
	// Recorded adds the checks of what the evidence record names: the
	// network ACL entries, the Auto Scaling group and the target groups.
	Recorded bool
}

// Verify checks that a contained instance is still contained and repairs
// exactly what drifted. It never re-contains: an instance not tagged
// contained (released, partial, never contained) is left alone, and it takes
// no blast-radius token (nothing new is contained). iso may be shared by
// every verification of one invocation.
func (rb *Runbook) Verify(ctx context.Context, t VerifyTarget, iso *Isolation) (Verification, map[string]string, error) {
	// Described again even when a listing named it: a release since must
	// be seen before anything is repaired.
	reads := rb.startVerifyReads(ctx, t.InstanceID, iso)
	inst, err := describeInstance(ctx, rb.api.EC2, t.InstanceID)
	if err != nil {
		return Verification{}, nil, err
	}
	if inst.Tags[contract.TagExempt] == "true" {
		return Verification{}, inst.Tags, fmt.Errorf("%s carries %s=true: not verified, nothing changed", t.InstanceID, contract.TagExempt)
	}
	if s := inst.Tags[contract.TagStatus]; s != contract.StatusContained {
		return Verification{}, inst.Tags, fmt.Errorf("%s is %s=%q, not contained: not verified, nothing changed", t.InstanceID, contract.TagStatus, s)
	}
	r := &run{Runbook: rb, t: Target{InstanceID: t.InstanceID, AccountID: t.AccountID, Region: t.Region, CaseID: inst.Tags[contract.TagCaseID]},
		inst: inst, now: rb.opt.Now().UTC(), log: rb.opt.Logger.With("instance", t.InstanceID, "verify", true)}
	return r.verify(ctx, reads, t.Recorded), inst.Tags, nil
}

// verify runs every check, each on its own: one failing never hides another.
// The recorded checks run when asked, and whenever the cheap reads show drift:
// someone changed the containment, so everything is checked whatever it
// costs, beside the repairs.
func (r *run) verify(ctx context.Context, reads verifyReads, recorded bool) Verification {
	groups, gerr := reads.iso.read.wait()
	interfaces := async(func() (report.Step, error) { return r.checkInterfaces(ctx, groups, gerr), nil })
	rules := async(func() (report.Step, error) { return r.checkIsolationRules(ctx, reads.iso, groups, gerr), nil })
	termination := async(func() (report.Step, error) { return r.checkTermination(ctx, reads.termination), nil })
	skipped := func(name string) report.Step {
		return step(name, report.Skipped, nil, "%s", "checked by the scheduled sweep (a re-delivery stays at one round trip), and on any re-delivery that finds drift")
	}
	naclF := async(func() (naclCheck, error) { return naclCheck{step: skipped(report.CheckNetworkACL)}, nil })
	asgF := async(func() (report.Step, error) { return skipped(report.CheckAutoScaling), nil })
	lbF := async(func() (report.Step, error) { return skipped(report.CheckLoadBalancers), nil })
	deep := recorded || r.suspect(groups, reads.termination) || r.credentialsSuspect()
	credentials := async(func() (report.Step, error) { return r.checkCredentials(ctx, deep, reads.iso), nil })
	if deep {
		naclF = async(func() (naclCheck, error) { return r.checkNACL(ctx), nil })
		asgF = async(func() (report.Step, error) { return r.checkAutoScaling(ctx), nil })
		lbF = async(func() (report.Step, error) {
			rec, err := r.readRecord(ctx)
			return r.checkTargets(ctx, rec, err), nil
		})
	}
	var v Verification
	n, _ := naclF.wait()
	v.NACLEntries = n.added
	v.Checks = []report.Step{must(interfaces), must(rules), n.step, must(asgF), must(lbF), must(termination), must(credentials)}
	for _, s := range v.Checks {
		v.Drift = append(v.Drift, s.Drift...)
		v.Failed = v.Failed || s.Status == report.Failed
		r.log.InfoContext(ctx, "check", "check", s.Name, "status", s.Status, "drift", s.Drift, "error", s.Error)
	}
	return v
}

// suspect tells from the reads alone whether a cheap check will find drift.
func (r *run) suspect(groups map[string]sharedGroups, termination *future[bool]) bool {
	for _, e := range r.inst.ENIs {
		if g := groups[e.VPC]; g.isolation == "" || !slices.Equal(e.Groups, []string{g.isolation}) || len(g.rules) > 0 {
			return true
		}
	}
	on, err := termination.wait()
	return err == nil && !on && !r.inst.Spot
}

// drifted is a check's step once it found drift: repaired, or failed.
func drifted(name string, found []string, err error, actions []string) report.Step {
	if err != nil {
		s := failed(name, "drift found; the repair failed: "+strings.Join(found, "; "), err, actions)
		s.Drift = found
		return s
	}
	s := step(name, report.Done, actions, "drift found and repaired: %s", strings.Join(found, "; "))
	s.Drift = found
	return s
}

// checkInterfaces: every interface in its VPC's isolation group, alone. One
// put back in another group goes through the all-traffic group again, so
// flows opened meanwhile become untracked and die.
func (r *run) checkInterfaces(ctx context.Context, groups map[string]sharedGroups, gerr error) report.Step {
	if gerr != nil {
		return failed(report.CheckInterfaces, "the isolation groups could not be read", gerr, nil)
	}
	if len(r.inst.ENIs) == 0 {
		return step(report.CheckInterfaces, report.NotApplicable, nil, "the instance has no network interface")
	}
	var todo []eni
	var found []string
	for _, e := range r.inst.ENIs {
		g := groups[e.VPC]
		if g.isolation != "" && slices.Equal(e.Groups, []string{g.isolation}) {
			continue
		}
		todo = append(todo, e)
		found = append(found, fmt.Sprintf("%s is in %v, not %s alone", e.ID, e.Groups, contract.IsolationGroupName))
	}
	if len(todo) == 0 {
		return step(report.CheckInterfaces, report.Done, nil, "%d interfaces in the isolation group alone", len(r.inst.ENIs))
	}
	var actions []string
	var mu sync.Mutex
	errs := each(todo, func(e eni) error {
		g, ok := groups[e.VPC]
		if !ok || g.isolation == "" || g.allTraffic == "" {
			vg, err := r.regroup(ctx, e.VPC)
			if err != nil {
				return err
			}
			g = sharedGroups{isolation: vg.isolation, allTraffic: vg.allTraffic}
		}
		if err := r.setGroups(ctx, e.ID, g.allTraffic); err != nil {
			return err
		}
		if err := r.setGroups(ctx, e.ID, g.isolation); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		actions = append(actions, fmt.Sprintf("%s: %v -> %s -> %s", e.ID, e.Groups, g.allTraffic, g.isolation))
		return nil
	})
	return drifted(report.CheckInterfaces, found, joinErrs(errs), actions)
}

// checkIsolationRules: the isolation groups of the instance's VPCs have no
// rule in either direction.
func (r *run) checkIsolationRules(ctx context.Context, iso *Isolation, groups map[string]sharedGroups, gerr error) report.Step {
	if gerr != nil {
		return failed(report.CheckIsolationGroup, "the isolation groups could not be read", gerr, nil)
	}
	var found, actions []string
	var ids []string
	for _, vpc := range r.inst.vpcs() {
		g := groups[vpc]
		if g.isolation == "" || len(g.rules) == 0 {
			continue
		}
		ids = append(ids, g.isolation)
		for _, rule := range g.rules {
			found = append(found, fmt.Sprintf("%s (%s) allows %s", g.isolation, vpc, rule))
		}
	}
	if len(ids) == 0 {
		return step(report.CheckIsolationGroup, report.Done, nil, "the isolation groups of %v have no rule", r.inst.vpcs())
	}
	errs := each(ids, func(id string) error { return iso.repairOnce(id, func() error { return r.emptyGroup(ctx, id) }) })
	for i, id := range ids {
		if errs[i] == nil {
			actions = append(actions, "revoked every rule of "+id)
		}
	}
	return drifted(report.CheckIsolationGroup, found, joinErrs(errs), actions)
}

func (r *run) checkTermination(ctx context.Context, read *future[bool]) report.Step {
	if r.inst.Spot {
		return step(report.CheckTermination, report.NotApplicable, nil, "termination protection not applicable to a Spot instance")
	}
	on, err := read.wait()
	switch {
	case err != nil:
		return failed(report.CheckTermination, "termination protection could not be read", err, nil)
	case on:
		return step(report.CheckTermination, report.Done, nil, "termination protection on")
	}
	_, err = r.api.EC2.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(r.inst.ID),
		DisableApiTermination: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}})
	if err != nil {
		err = fmt.Errorf("enabling termination protection of %s: %w", r.inst.ID, err)
	}
	return drifted(report.CheckTermination, []string{"termination protection turned off"}, err, []string{"enable termination protection"})
}

// credentialsSuspect tells from the description alone that the credentials
// drifted: a profile is associated again. (An endpoint that is on may be an
// instance that never had a profile, whose endpoint Firebreak leaves alone:
// the sweep tells them apart with the record.)
func (r *run) credentialsSuspect() bool { return r.inst.raw.IamInstanceProfile != nil }

// checkCredentials: the profile still removed and the metadata endpoint off
// (both in the description, so free), and, when deep (the sweep, or any
// drift), the role's deny still naming the instance. The recorded profile
// says which role; a role the containment refused (Firebreak's own, the CDK
// bootstrap's, one tagged exempt) stays untouched.
func (r *run) checkCredentials(ctx context.Context, deep bool, iso *Isolation) report.Step {
	name := report.CheckCredentials
	if !deep {
		return step(name, report.Skipped, nil, "no profile associated (read with the description); the metadata endpoint and the deny on the role are checked by the scheduled sweep, and on any re-delivery that finds drift")
	}
	rec, err := r.readRecord(ctx)
	if err != nil {
		return failed(name, "the evidence record could not be read to tell the instance's role", err, nil)
	}
	p := rec.Instance.IamInstanceProfile
	if p == nil {
		p = r.inst.raw.IamInstanceProfile
	}
	if p == nil || aws.ToString(p.Arn) == "" {
		return step(name, report.NotApplicable, nil, "the instance had no instance profile: no credentials to keep cut")
	}
	profileARN := aws.ToString(p.Arn)
	wr := rolepolicy.Writer{IAM: r.api.IAM, Account: r.t.AccountID, Partition: partitionOf(r.t.Region)}
	st, err := iso.role(profileARN, func() (roleState, error) { return r.readRole(ctx, profileARN, wr) })
	if err != nil {
		return failed(name, "the role of instance profile "+profileARN+" could not be read", err, nil)
	}
	if st.role == "" {
		return step(name, report.NotApplicable, nil, "instance profile %s holds no role", profileARN)
	}
	role := st.role
	if why := protectedRole(role, st.exempt); why != "" {
		return step(name, report.Skipped, nil, "role %s %s: its credentials were not contained, nothing checked", role, why)
	}
	arn := rolepolicy.InstanceARN(partitionOf(r.t.Region), r.t.Region, r.t.AccountID, r.inst.ID)
	denied := slices.Contains(st.denied, arn)
	var found, actions []string
	var errs []error
	switch {
	case !denied && r.opt.RoleLockTable != "":
		found, actions = append(found, "the deny on role "+role+" no longer names this instance"), append(actions, "deny this instance's sessions of "+role+" again")
		_, err := ledger.NewRoleLock(r.api.DynamoDB, r.opt.RoleLockTable).Rewrite(ctx, r.t.AccountID, role, arn,
			func(ctx context.Context, want []string) ([]string, error) {
				res, err := wr.Set(ctx, role, want)
				return res.Written, err
			})
		errs = append(errs, wrapErr("denying again", err))
	}
	if cur := r.inst.raw.IamInstanceProfile; cur != nil {
		found, actions = append(found, "instance profile "+aws.ToString(cur.Arn)+" associated again"), append(actions, "remove the profile association")
		errs = append(errs, wrapErr("removing the profile association", r.disassociateLive(ctx)))
	}
	if mo := r.inst.raw.MetadataOptions; mo != nil && mo.HttpEndpoint == ec2types.InstanceMetadataEndpointStateEnabled {
		found, actions = append(found, "metadata endpoint enabled"), append(actions, "disable the metadata endpoint")
		_, err := r.api.EC2.ModifyInstanceMetadataOptions(ctx, &ec2.ModifyInstanceMetadataOptionsInput{InstanceId: aws.String(r.inst.ID),
			HttpEndpoint: ec2types.InstanceMetadataEndpointStateDisabled})
		errs = append(errs, wrapErr("disabling the metadata endpoint", err))
	}
	err = errors.Join(errs...)
	if len(found) == 0 {
		if err != nil {
			return failed(name, "the credentials could not be verified", err, nil)
		}
		return step(name, report.Done, nil, "role %s denies this instance's sessions, profile removed, metadata endpoint off", role)
	}
	return drifted(name, found, err, actions)
}

// role reads a profile's role state once per invocation.
func (iso *Isolation) role(profileARN string, read func() (roleState, error)) (roleState, error) {
	iso.mu.Lock()
	f, ok := iso.roles[profileARN]
	if !ok {
		f = async(read)
		iso.roles[profileARN] = f
	}
	iso.mu.Unlock()
	return f.wait()
}

// readRole reads the profile's role, its tags and, beside them, the ARNs
// its deny policies name.
func (r *run) readRole(ctx context.Context, profileARN string, wr rolepolicy.Writer) (roleState, error) {
	prof, err := r.api.IAM.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(profileARN[strings.LastIndex(profileARN, "/")+1:])})
	if err != nil || len(prof.InstanceProfile.Roles) == 0 {
		return roleState{}, err
	}
	st := roleState{role: aws.ToString(prof.InstanceProfile.Roles[0].RoleName)}
	denied := async(func() ([]string, error) { return wr.Denied(ctx, st.role) })
	tags, err := r.api.IAM.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String(st.role)})
	if err != nil {
		return roleState{}, fmt.Errorf("reading the tags of role %s: %w", st.role, err)
	}
	st.exempt = slices.ContainsFunc(tags.Tags, func(t iamtypes.Tag) bool {
		return aws.ToString(t.Key) == contract.TagExempt && aws.ToString(t.Value) == "true"
	})
	if st.denied, err = denied.wait(); err != nil {
		return roleState{}, fmt.Errorf("reading the deny policies of role %s: %w", st.role, err)
	}
	return st, nil
}

// disassociateLive removes whatever profile association the instance has now.
func (r *run) disassociateLive(ctx context.Context) error {
	out, err := r.api.EC2.DescribeIamInstanceProfileAssociations(ctx, &ec2.DescribeIamInstanceProfileAssociationsInput{
		Filters: []ec2types.Filter{{Name: aws.String("instance-id"), Values: []string{r.inst.ID}}}})
	if err != nil {
		return err
	}
	for _, a := range out.IamInstanceProfileAssociations {
		if a.State != ec2types.IamInstanceProfileAssociationStateAssociated {
			continue
		}
		if _, err := r.api.EC2.DisassociateIamInstanceProfile(ctx, &ec2.DisassociateIamInstanceProfileInput{AssociationId: a.AssociationId}); err != nil &&
			!hasCode(err, "InvalidAssociationID.NotFound") {
			return err
		}
	}
	return nil
}

// readRecord reads the evidence record the instance's tags name.
func (r *run) readRecord(ctx context.Context) (*Record, error) {
	r.recordOnce.Do(func() { r.record, r.recordErr = r.fetchRecord(ctx) })
	return r.record, r.recordErr
}

func (r *run) fetchRecord(ctx context.Context) (*Record, error) {
	key := EvidenceKey(r.t.AccountID, r.t.Region, r.inst.ID, r.inst.Tags[contract.TagCaseID], "capture.json")
	in := &s3.GetObjectInput{Bucket: aws.String(r.opt.EvidenceBucket), Key: aws.String(key)}
	if v := r.inst.Tags[contract.TagEvidenceVersion]; v != "" {
		in.VersionId = aws.String(v)
	}
	out, err := r.api.S3.GetObject(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("reading the evidence record %s: %w", key, err)
	}
	defer out.Body.Close()
	var rec Record
	if err := json.NewDecoder(io.LimitReader(out.Body, 32<<20)).Decode(&rec); err != nil {
		return nil, fmt.Errorf("reading the evidence record %s: %w", key, err)
	}
	return &rec, nil
}

type naclCheck struct {
	step  report.Step
	added []report.NACLEntry
}

// checkNACL: every deny entry the hard cut needs is in place; the missing
// ones are re-created (under a free rule number) and recorded as added.
func (r *run) checkNACL(ctx context.Context) naclCheck {
	if !r.opt.NACL {
		return naclCheck{step: step(report.CheckNetworkACL, report.NotApplicable, nil, "the network ACL hard cut is off")}
	}
	f := &facts{nacls: async(func() ([]ec2types.NetworkAcl, error) {
		out, err := r.api.EC2.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{
			Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: r.inst.vpcs()}}})
		if err != nil {
			return nil, fmt.Errorf("describing network ACLs of %v: %w", r.inst.vpcs(), err)
		}
		return out.NetworkAcls, nil
	})}
	res := r.hardCut(ctx, f)
	var added []report.NACLEntry
	var found []string
	for _, e := range res.entries {
		if e.Added {
			added = append(added, e)
			found = append(found, fmt.Sprintf("no deny of %s (egress=%v) in %s", e.CIDR, e.Egress, e.NetworkACLID))
		}
	}
	switch {
	case res.err != nil && len(found) == 0:
		return naclCheck{step: failed(report.CheckNetworkACL, "the hard cut could not be checked", res.err, res.actions)}
	case len(found) > 0 || res.err != nil:
		return naclCheck{step: drifted(report.CheckNetworkACL, found, res.err, res.actions), added: added}
	}
	return naclCheck{step: step(report.CheckNetworkACL, report.Done, nil, "%d deny entries in place", len(res.entries))}
}

// checkAutoScaling: the instance is in no Auto Scaling group (it was
// detached; one that took it back would replace and terminate it).
func (r *run) checkAutoScaling(ctx context.Context) report.Step {
	out, err := r.api.AutoScaling.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{r.inst.ID}})
	if err != nil {
		return failed(report.CheckAutoScaling, "Auto Scaling membership could not be read", fmt.Errorf("describing Auto Scaling membership of %s: %w", r.inst.ID, err), nil)
	}
	var d *asgtypes.AutoScalingInstanceDetails
	for i := range out.AutoScalingInstances {
		if aws.ToString(out.AutoScalingInstances[i].InstanceId) == r.inst.ID {
			d = &out.AutoScalingInstances[i]
		}
	}
	if d == nil {
		return step(report.CheckAutoScaling, report.Done, nil, "in no Auto Scaling group")
	}
	f := &facts{asg: async(func() (*asgtypes.AutoScalingInstanceDetails, error) { return d, nil }),
		classic: async(func() ([]string, error) { return nil, nil }), detachIssued: make(chan struct{})}
	s := r.detach(ctx, f)
	found := []string{fmt.Sprintf("back in Auto Scaling group %s (%s)", aws.ToString(d.AutoScalingGroupName), aws.ToString(d.LifecycleState))}
	if s.Status == report.Failed {
		return drifted(report.CheckAutoScaling, found, fmt.Errorf("%s: %s", s.Error, s.Message), s.Actions)
	}
	return drifted(report.CheckAutoScaling, found, nil, s.Actions)
}

// checkTargets: the instance is registered in none of the target groups the
// record names (neither ELB API looks up by instance: the record says where
// to look).
func (r *run) checkTargets(ctx context.Context, rec *Record, rerr error) report.Step {
	if rerr != nil {
		return failed(report.CheckLoadBalancers, "the evidence record could not be read, so the recorded memberships are unknown", rerr, nil)
	}
	byGroup := map[string][]TargetRecord{}
	var arns []string
	for _, t := range rec.Targets {
		if _, ok := byGroup[t.TargetGroupARN]; !ok {
			arns = append(arns, t.TargetGroupARN)
		}
		byGroup[t.TargetGroupARN] = append(byGroup[t.TargetGroupARN], t)
	}
	if len(arns) == 0 {
		return step(report.CheckLoadBalancers, report.NotApplicable, nil, "the record names no target group")
	}
	back := make([][]TargetRecord, len(arns))
	errs := each(indexes(len(arns)), func(i int) error {
		var tds []elbv2types.TargetDescription
		for _, t := range byGroup[arns[i]] {
			td := elbv2types.TargetDescription{Id: aws.String(t.ID)}
			if t.Port != 0 {
				td.Port = aws.Int32(t.Port)
			}
			tds = append(tds, td)
		}
		out, err := r.api.ELBV2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(arns[i]), Targets: tds})
		if err != nil {
			return fmt.Errorf("reading targets of %s: %w", arns[i], err)
		}
		for _, d := range out.TargetHealthDescriptions {
			if d.TargetHealth == nil || d.Target == nil || notRegistered(*d.TargetHealth) {
				continue
			}
			back[i] = append(back[i], TargetRecord{TargetGroupARN: arns[i], ID: aws.ToString(d.Target.Id), Port: aws.ToInt32(d.Target.Port)})
		}
		return nil
	})
	m := lbMembership{targets: slices.Concat(back...)}
	if err := joinErrs(errs); err != nil && len(m.targets) == 0 {
		return failed(report.CheckLoadBalancers, "the recorded target groups could not all be read", err, nil)
	}
	if len(m.targets) == 0 {
		return step(report.CheckLoadBalancers, report.Done, nil, "registered in none of the %d recorded target groups", len(arns))
	}
	var found []string
	for _, t := range m.targets {
		found = append(found, fmt.Sprintf("%s port %d registered again in %s", t.ID, t.Port, t.TargetGroupARN))
	}
	s := r.deregister(ctx, &facts{lbs: async(func() (lbMembership, error) { return m, nil })})
	if s.Status == report.Failed {
		return drifted(report.CheckLoadBalancers, found, fmt.Errorf("%s: %s %s", s.Error, s.Detail, s.Message), s.Actions)
	}
	return drifted(report.CheckLoadBalancers, found, nil, s.Actions)
}

// notRegistered: DescribeTargetHealth answers for a target it was asked
// about even when it is not registered; draining is on its way out.
func notRegistered(h elbv2types.TargetHealth) bool {
	return h.State == elbv2types.TargetHealthStateEnumDraining ||
		(h.State == elbv2types.TargetHealthStateEnumUnused && h.Reason == elbv2types.TargetHealthReasonEnumNotRegistered)
}

// alreadyContained verifies an instance tagged contained instead of
// containing it again: nothing is repeated, only what drifted is repaired.
func (r *run) alreadyContained(ctx context.Context, reads verifyReads) Outcome {
	v := r.verify(ctx, reads, false)
	detail, rest := "already contained at %s (case %s): verified, nothing repeated", "already contained: nothing repeated"
	switch {
	case v.Failed:
		detail, rest = "already contained at %s (case %s): verification incomplete or a repair failed; see the verify checks", "already contained: see the verify checks"
	case v.Drifted():
		detail, rest = "already contained at %s (case %s): drift found and repaired", "already contained: drift found and repaired"
	}
	out := Outcome{AlreadyContained: true, Tags: r.inst.Tags, Verification: &v, NACLEntries: v.NACLEntries,
		Steps: r.allSteps(step(report.StepCapture, report.Skipped, nil, detail, r.inst.Tags[contract.TagContainedAt], r.inst.Tags[contract.TagCaseID]),
			report.Skipped, rest)}
	// A check that failed on throttling is worth Lambda's retry.
	out.Incomplete = slices.ContainsFunc(v.Checks, func(s report.Step) bool { return s.Status == report.Failed && Transient(s.Error) })
	r.finishLocks(ctx, &out)
	return out
}
