package awsfake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
)

// Security Hub as the API reference and the user guide describe it, for the
// two operations Firebreak calls:
//
//   - BatchUpdateFindings (Security Hub CSPM, ASFF findings by ProductArn and
//     Id): up to 100 identifiers, Note.Text 1-512 characters and UpdatedBy
//     1-512, UserDefinedFields up to 50 pairs (key up to 128 characters, value
//     up to 1024), Workflow.Status NEW | NOTIFIED | RESOLVED | SUPPRESSED. A
//     bad request is InvalidInputException; an account that has not enabled
//     Security Hub CSPM gets InvalidAccessException ("Account ... is not
//     subscribed to AWS Security Hub", HTTP 401). A finding the hub does not
//     hold (GuardDuty's import lags its EventBridge event by minutes) is not
//     an error: it comes back in UnprocessedFindings with FindingNotFound, a
//     repeated identifier with DuplicatedFindingIdentifier.
//   - BatchUpdateFindingsV2 (Security Hub, OCSF findings by FindingIdentifiers
//     {CloudAccountUid, FindingInfoUid, MetadataProductUid} or MetadataUids,
//     never both): Comment 1-512, StatusId 0-5 or 99, SeverityId 0-6 or 99; a
//     bad request is ValidationException and an unknown finding comes back in
//     UnprocessedFindings with ResourceNotFoundException. How it answers an
//     account that has not enabled Security Hub is not documented: the fake
//     answers ResourceNotFoundException, as DescribeSecurityHubV2 does when
//     the hub resource does not exist.
//
// Throttling (CSPM: LimitExceededException, 10 requests/s with a burst of
// 30; Security Hub: ThrottlingException) is injected with FailNext or
// FailAlways, as for every other service.
type SecurityHub struct{ w *World }

// Limits of the two operations.
const (
	maxIdentifiers     = 100
	maxNoteChars       = 512
	maxFields          = 50
	maxFieldKeyChars   = 128
	maxFieldValueChars = 1024
)

// securityHub is the world's two hubs.
type securityHub struct {
	cspm, v2 bool
	asff     store[*asffFinding] // by ProductArn + "|" + Id
	ocsf     store[*ocsfFinding] // by account + "|" + finding uid + "|" + product uid
}

type asffFinding struct {
	productArn, id string
	workflow       shtypes.WorkflowStatus
	note           *shtypes.Note
	fields         map[string]string
	// touched lists every ASFF field a BatchUpdateFindings changed, in order.
	touched []string
}

type ocsfFinding struct {
	metadataUID, account, uid, productUID string
	statusID                              int32
	comment                               string
	touched                               []string
}

// Finding is a Security Hub CSPM finding as the tests read it back.
type Finding struct {
	ProductArn, ID    string
	Workflow          shtypes.WorkflowStatus
	Note              *shtypes.Note
	UserDefinedFields map[string]string
	// Touched names each field BatchUpdateFindings changed, in order, with
	// repeats ("Workflow.Status", "Note", "UserDefinedFields", "Severity", ...).
	Touched []string
}

// OCSFFinding is a Security Hub (OCSF) finding as the tests read it back.
type OCSFFinding struct {
	MetadataUID, AccountID, UID, ProductUID string
	// StatusID is OCSF's status_id: 1 New, 2 In Progress, 3 Suppressed,
	// 4 Resolved, 5 Archived, 99 Other.
	StatusID int32
	Comment  string
	Touched  []string
}

// EnableSecurityHub turns on Security Hub CSPM in the world's account and Region.
func (w *World) EnableSecurityHub() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hub.cspm = true
}

// EnableSecurityHubV2 turns on the newer Security Hub (OCSF findings).
func (w *World) EnableSecurityHubV2() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hub.v2 = true
}

// GuardDutyProductArn is the ASFF ProductArn of GuardDuty in a Region.
func GuardDutyProductArn(partition, region string) string {
	return fmt.Sprintf("arn:%s:securityhub:%s::product/aws/guardduty", partition, region)
}

// GuardDutyProductUID is the OCSF metadata.product.uid of GuardDuty in a Region.
func GuardDutyProductUID(partition, region string) string {
	return fmt.Sprintf("arn:%s:securityhub:%s::productv2/aws/guardduty", partition, region)
}

var guardDutyARN = regexp.MustCompile(`^arn:(aws[a-z-]*):guardduty:([a-z0-9-]+):(\d{12}):detector/[^/]+/finding/[^/]+$`)

// ImportGuardDutyFinding is GuardDuty's integration delivering a finding to
// every hub that is on: Security Hub CSPM keys it by GuardDuty's product ARN
// and the finding ARN, Security Hub by the account, the finding ARN
// (finding_info.uid) and GuardDuty's productv2 ARN. Both start NEW.
func (w *World) ImportGuardDutyFinding(findingARN string) {
	m := guardDutyARN.FindStringSubmatch(findingARN)
	if m == nil {
		panic(fmt.Sprintf("awsfake: ImportGuardDutyFinding: %q is not a GuardDuty finding ARN", findingARN))
	}
	partition, region, account := m[1], m[2], m[3]
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.hub.cspm {
		w.importASFF(GuardDutyProductArn(partition, region), findingARN)
	}
	if w.hub.v2 {
		uid := GuardDutyProductUID(partition, region)
		sum := sha256.Sum256([]byte(account + "|" + findingARN + "|" + uid))
		f := &ocsfFinding{metadataUID: hex.EncodeToString(sum[:]), account: account, uid: findingARN, productUID: uid, statusID: 1}
		w.hub.ocsf.put(ocsfKey(account, findingARN, uid), f)
	}
}

// ImportFinding adds an ASFF finding of any product to Security Hub CSPM
// (which must be on), e.g. an Inspector finding sent by a custom action.
func (w *World) ImportFinding(productArn, id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.hub.cspm {
		panic("awsfake: ImportFinding: Security Hub CSPM is not enabled")
	}
	w.importASFF(productArn, id)
}

func (w *World) importASFF(productArn, id string) {
	w.hub.asff.put(productArn+"|"+id, &asffFinding{productArn: productArn, id: id, workflow: shtypes.WorkflowStatusNew, fields: map[string]string{}})
}

func ocsfKey(account, uid, product string) string { return account + "|" + uid + "|" + product }

// SecurityHubFinding returns a copy of a Security Hub CSPM finding. It makes
// no counted call.
func (w *World) SecurityHubFinding(productArn, id string) (Finding, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f, ok := w.hub.asff.get(productArn + "|" + id)
	if !ok {
		return Finding{}, false
	}
	return f.copy(), true
}

// SecurityHubFindings returns copies of every Security Hub CSPM finding, in
// import order.
func (w *World) SecurityHubFindings() []Finding {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Finding
	for _, f := range w.hub.asff.all() {
		out = append(out, f.copy())
	}
	return out
}

func (f *asffFinding) copy() Finding {
	out := Finding{ProductArn: f.productArn, ID: f.id, Workflow: f.workflow, UserDefinedFields: maps.Clone(f.fields), Touched: slices.Clone(f.touched)}
	if f.note != nil {
		n := *f.note
		out.Note = &n
	}
	return out
}

// SecurityHubV2Finding returns a copy of a Security Hub (OCSF) finding.
func (w *World) SecurityHubV2Finding(account, uid, productUID string) (OCSFFinding, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f, ok := w.hub.ocsf.get(ocsfKey(account, uid, productUID))
	if !ok {
		return OCSFFinding{}, false
	}
	return f.copy(), true
}

// SecurityHubV2Findings returns copies of every Security Hub (OCSF) finding.
func (w *World) SecurityHubV2Findings() []OCSFFinding {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []OCSFFinding
	for _, f := range w.hub.ocsf.all() {
		out = append(out, f.copy())
	}
	return out
}

func (f *ocsfFinding) copy() OCSFFinding {
	return OCSFFinding{MetadataUID: f.metadataUID, AccountID: f.account, UID: f.uid, ProductUID: f.productUID,
		StatusID: f.statusID, Comment: f.comment, Touched: slices.Clone(f.touched)}
}

// BatchUpdateFindings updates Security Hub CSPM findings.
func (c *SecurityHub) BatchUpdateFindings(ctx context.Context, in *securityhub.BatchUpdateFindingsInput, _ ...func(*securityhub.Options)) (*securityhub.BatchUpdateFindingsOutput, error) {
	return call(ctx, c.w, svcSecurityHub, "BatchUpdateFindings", in, c.w.batchUpdateFindings)
}

func invalidInput(format string, args ...any) error {
	return apiError("InvalidInputException", format, args...)
}

// blank matches what the pattern .*\S.* refuses.
func blank(s string) bool { return strings.TrimSpace(s) == "" }

func (w *World) batchUpdateFindings(in *securityhub.BatchUpdateFindingsInput) (*securityhub.BatchUpdateFindingsOutput, error) {
	if !w.hub.cspm {
		return nil, apiError("InvalidAccessException", "Account %s is not subscribed to AWS Security Hub", w.account)
	}
	if err := validateASFFUpdate(in); err != nil {
		return nil, err
	}
	out := &securityhub.BatchUpdateFindingsOutput{ProcessedFindings: []shtypes.AwsSecurityFindingIdentifier{}, UnprocessedFindings: []shtypes.BatchUpdateFindingsUnprocessedFinding{}}
	unprocessed := func(id shtypes.AwsSecurityFindingIdentifier, code, msg string) {
		out.UnprocessedFindings = append(out.UnprocessedFindings, shtypes.BatchUpdateFindingsUnprocessedFinding{
			FindingIdentifier: &id, ErrorCode: aws.String(code), ErrorMessage: aws.String(msg)})
	}
	seen := map[string]int{}
	for _, id := range in.FindingIdentifiers {
		seen[aws.ToString(id.ProductArn)+"|"+aws.ToString(id.Id)]++
	}
	now := w.nowLocked()
	for _, id := range in.FindingIdentifiers {
		key := aws.ToString(id.ProductArn) + "|" + aws.ToString(id.Id)
		f, ok := w.hub.asff.get(key)
		switch {
		case seen[key] > 1:
			unprocessed(id, "DuplicatedFindingIdentifier", "Finding Identifier is duplicated")
			continue
		case !ok:
			unprocessed(id, "FindingNotFound", "Finding Not Found")
			continue
		}
		fields := maps.Clone(f.fields)
		maps.Copy(fields, in.UserDefinedFields)
		if len(fields) > maxFields {
			unprocessed(id, "InvalidInput", "Invalid Input")
			continue
		}
		f.apply(in, fields, now)
		out.ProcessedFindings = append(out.ProcessedFindings, id)
	}
	return out, nil
}

func validateASFFUpdate(in *securityhub.BatchUpdateFindingsInput) error {
	if n := len(in.FindingIdentifiers); n == 0 || n > maxIdentifiers {
		return invalidInput("FindingIdentifiers must hold 1 to %d findings, not %d", maxIdentifiers, n)
	}
	for i, id := range in.FindingIdentifiers {
		if blank(aws.ToString(id.Id)) || blank(aws.ToString(id.ProductArn)) {
			return invalidInput("FindingIdentifiers[%d]: Id and ProductArn are required", i)
		}
	}
	if n := in.Note; n != nil {
		text, by := aws.ToString(n.Text), aws.ToString(n.UpdatedBy)
		switch {
		case blank(text) || blank(by):
			return invalidInput("Note.Text and Note.UpdatedBy are required and may not be blank")
		case utf8.RuneCountInString(text) > maxNoteChars:
			return invalidInput("Note.Text is %d characters; the maximum is %d", utf8.RuneCountInString(text), maxNoteChars)
		case utf8.RuneCountInString(by) > maxNoteChars:
			return invalidInput("Note.UpdatedBy is %d characters; the maximum is %d", utf8.RuneCountInString(by), maxNoteChars)
		}
	}
	if len(in.UserDefinedFields) > maxFields {
		return invalidInput("UserDefinedFields holds %d pairs; the maximum is %d", len(in.UserDefinedFields), maxFields)
	}
	for k, v := range in.UserDefinedFields {
		switch {
		case blank(k) || utf8.RuneCountInString(k) > maxFieldKeyChars:
			return invalidInput("UserDefinedFields key %q: 1 to %d characters", k, maxFieldKeyChars)
		case utf8.RuneCountInString(v) > maxFieldValueChars:
			return invalidInput("UserDefinedFields value of %q is %d characters; the maximum is %d", k, utf8.RuneCountInString(v), maxFieldValueChars)
		}
	}
	if wf := in.Workflow; wf != nil && !slices.Contains(wf.Status.Values(), wf.Status) {
		return invalidInput("Workflow.Status %q is not one of %v", wf.Status, wf.Status.Values())
	}
	if v := in.VerificationState; v != "" && !slices.Contains(v.Values(), v) {
		return invalidInput("VerificationState %q is not one of %v", v, v.Values())
	}
	for name, v := range map[string]*int32{"Confidence": in.Confidence, "Criticality": in.Criticality} {
		if v != nil && (*v < 0 || *v > 100) {
			return invalidInput("%s %d is outside 0-100", name, *v)
		}
	}
	return nil
}

// apply records the update on the finding; fields is the merged map.
func (f *asffFinding) apply(in *securityhub.BatchUpdateFindingsInput, fields map[string]string, now time.Time) {
	if in.Workflow != nil && in.Workflow.Status != "" {
		f.workflow = in.Workflow.Status
		f.touched = append(f.touched, "Workflow.Status")
	}
	if in.Note != nil {
		f.note = &shtypes.Note{Text: aws.String(aws.ToString(in.Note.Text)), UpdatedBy: aws.String(aws.ToString(in.Note.UpdatedBy)),
			UpdatedAt: aws.String(now.Format("2006-01-02T15:04:05.000Z"))}
		f.touched = append(f.touched, "Note")
	}
	if in.UserDefinedFields != nil {
		f.fields = fields
		f.touched = append(f.touched, "UserDefinedFields")
	}
	for name, set := range map[string]bool{
		"Severity": in.Severity != nil, "Confidence": in.Confidence != nil, "Criticality": in.Criticality != nil,
		"VerificationState": in.VerificationState != "", "Types": in.Types != nil, "RelatedFindings": in.RelatedFindings != nil,
	} {
		if set {
			f.touched = append(f.touched, name)
		}
	}
}

// BatchUpdateFindingsV2 updates Security Hub (OCSF) findings.
func (c *SecurityHub) BatchUpdateFindingsV2(ctx context.Context, in *securityhub.BatchUpdateFindingsV2Input, _ ...func(*securityhub.Options)) (*securityhub.BatchUpdateFindingsV2Output, error) {
	return call(ctx, c.w, svcSecurityHub, "BatchUpdateFindingsV2", in, c.w.batchUpdateFindingsV2)
}

func validation(format string, args ...any) error {
	return apiError("ValidationException", format, args...)
}

func (w *World) batchUpdateFindingsV2(in *securityhub.BatchUpdateFindingsV2Input) (*securityhub.BatchUpdateFindingsV2Output, error) {
	if !w.hub.v2 {
		return nil, apiError("ResourceNotFoundException", "Security Hub is not enabled for account %s in %s", w.account, w.region)
	}
	if err := validateOCSFUpdate(in); err != nil {
		return nil, err
	}
	out := &securityhub.BatchUpdateFindingsV2Output{ProcessedFindings: []shtypes.BatchUpdateFindingsV2ProcessedFinding{},
		UnprocessedFindings: []shtypes.BatchUpdateFindingsV2UnprocessedFinding{}}
	update := func(f *ocsfFinding) {
		if in.StatusId != nil {
			f.statusID = *in.StatusId
			f.touched = append(f.touched, "StatusId")
		}
		if in.SeverityId != nil {
			f.touched = append(f.touched, "SeverityId")
		}
		if in.Comment != nil {
			f.comment = *in.Comment
			f.touched = append(f.touched, "Comment")
		}
	}
	for _, id := range in.FindingIdentifiers {
		f, ok := w.hub.ocsf.get(ocsfKey(aws.ToString(id.CloudAccountUid), aws.ToString(id.FindingInfoUid), aws.ToString(id.MetadataProductUid)))
		if !ok {
			out.UnprocessedFindings = append(out.UnprocessedFindings, shtypes.BatchUpdateFindingsV2UnprocessedFinding{FindingIdentifier: &id,
				ErrorCode: shtypes.BatchUpdateFindingsV2UnprocessedFindingErrorCodeResourceNotFoundException, ErrorMessage: aws.String("Finding not found")})
			continue
		}
		update(f)
		out.ProcessedFindings = append(out.ProcessedFindings, shtypes.BatchUpdateFindingsV2ProcessedFinding{FindingIdentifier: &id, MetadataUid: aws.String(f.metadataUID)})
	}
	for _, uid := range in.MetadataUids {
		var found *ocsfFinding
		for _, f := range w.hub.ocsf.all() {
			if f.metadataUID == uid {
				found = f
			}
		}
		if found == nil {
			out.UnprocessedFindings = append(out.UnprocessedFindings, shtypes.BatchUpdateFindingsV2UnprocessedFinding{MetadataUid: aws.String(uid),
				ErrorCode: shtypes.BatchUpdateFindingsV2UnprocessedFindingErrorCodeResourceNotFoundException, ErrorMessage: aws.String("Finding not found")})
			continue
		}
		update(found)
		out.ProcessedFindings = append(out.ProcessedFindings, shtypes.BatchUpdateFindingsV2ProcessedFinding{MetadataUid: aws.String(uid)})
	}
	return out, nil
}

var (
	ocsfStatusIDs   = []int32{0, 1, 2, 3, 4, 5, 99}
	ocsfSeverityIDs = []int32{0, 1, 2, 3, 4, 5, 6, 99}
)

func validateOCSFUpdate(in *securityhub.BatchUpdateFindingsV2Input) error {
	ids, uids := len(in.FindingIdentifiers), len(in.MetadataUids)
	switch {
	case ids > 0 && uids > 0:
		return validation("MetadataUids cannot be used together with FindingIdentifiers")
	case ids+uids == 0:
		return validation("Either FindingIdentifiers or MetadataUids is required")
	case ids+uids > maxIdentifiers:
		return validation("At most %d findings can be updated at a time, not %d", maxIdentifiers, ids+uids)
	}
	for i, id := range in.FindingIdentifiers {
		if blank(aws.ToString(id.CloudAccountUid)) || blank(aws.ToString(id.FindingInfoUid)) || blank(aws.ToString(id.MetadataProductUid)) {
			return validation("FindingIdentifiers[%d]: CloudAccountUid, FindingInfoUid and MetadataProductUid are required", i)
		}
	}
	if in.Comment == nil && in.StatusId == nil && in.SeverityId == nil {
		return validation("Nothing to update: give Comment, StatusId or SeverityId")
	}
	if c := in.Comment; c != nil && (blank(*c) || utf8.RuneCountInString(*c) > maxNoteChars) {
		return validation("Comment must be 1 to %d characters and not blank", maxNoteChars)
	}
	if s := in.StatusId; s != nil && !slices.Contains(ocsfStatusIDs, *s) {
		return validation("StatusId %d is not one of %v", *s, ocsfStatusIDs)
	}
	if s := in.SeverityId; s != nil && !slices.Contains(ocsfSeverityIDs, *s) {
		return validation("SeverityId %d is not one of %v", *s, ocsfSeverityIDs)
	}
	return nil
}
