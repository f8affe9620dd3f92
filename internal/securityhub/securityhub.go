// Package securityhub writes Firebreak's outcome back to the finding that
// Security Hub holds, so that the team sees it where they triage: in
// Security Hub CSPM (ASFF findings, BatchUpdateFindings) and in Security Hub
// (OCSF findings, BatchUpdateFindingsV2), each where it is enabled.
//
// It writes a note, Firebreak's fields and, when asked, the workflow status
// that says someone is on it (NOTIFIED; OCSF status In Progress). It never
// resolves or suppresses a finding: only a person decides that. A write
// never fails its caller: what happened is returned as a report entry, and
// what could not be written yet (not imported, throttled) is written by a
// later call for the same finding.
package securityhub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"
	"github.com/aws/smithy-go"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// API names, as the report shows them.
const (
	APIFindings   = "BatchUpdateFindings"
	APIFindingsV2 = "BatchUpdateFindingsV2"
)

// Outcomes of one finding's update.
const (
	Written        = "written"
	AlreadyWritten = "already-written"
	NotEnabled     = "not-enabled"
	NotImported    = "not-imported"
	Throttled      = "throttled"
	// Unavailable: a timeout or a server error; a later event retries.
	Unavailable = "unavailable"
	Failed      = "failed"
)

// Limits of the two operations (API reference): 100 findings a call, notes
// and comments of 1-512 characters, user-defined fields of up to 50 pairs
// with keys of up to 128 characters and values of up to 1024.
const (
	MaxFindings   = 100
	MaxNoteChars  = 512
	maxFields     = 50
	maxKeyChars   = 128
	maxValueChars = 1024
	// UpdatedBy is who the note says wrote it.
	UpdatedBy = "Firebreak"
	// statusInProgress is OCSF status_id 2: someone is working on it.
	statusInProgress = 2
)

// Finding names one finding in either hub. The ASFF identifiers (ProductArn,
// ID) address Security Hub CSPM; the OCSF ones (AccountID, UID, ProductUID)
// Security Hub, and are empty for a finding known only in ASFF.
type Finding struct {
	ProductArn, ID             string
	AccountID, UID, ProductUID string
}

var guardDutyARNPattern = regexp.MustCompile(`^arn:(aws[a-z-]*):guardduty:([a-z0-9-]+):(\d{12}):detector/[^/]+/finding/[^/]+$`)

// GuardDuty names a GuardDuty finding by its ARN (detail.arn in the
// EventBridge event) in both hubs: ASFF Id is the ARN under GuardDuty's
// product ARN in its Region; OCSF finding_info.uid is the ARN under
// GuardDuty's productv2 ARN.
func GuardDuty(findingARN string) (Finding, bool) {
	m := guardDutyARNPattern.FindStringSubmatch(findingARN)
	if m == nil {
		return Finding{}, false
	}
	partition, region, account := m[1], m[2], m[3]
	return Finding{
		ProductArn: fmt.Sprintf("arn:%s:securityhub:%s::product/aws/guardduty", partition, region), ID: findingARN,
		AccountID: account, UID: findingARN, ProductUID: fmt.Sprintf("arn:%s:securityhub:%s::productv2/aws/guardduty", partition, region),
	}, true
}

// ASFF names a finding as a Security Hub custom action delivers it: its own
// Id and ProductArn. A GuardDuty finding is also named in OCSF terms.
func ASFF(productArn, id string) Finding {
	if f, ok := GuardDuty(id); ok && strings.HasSuffix(productArn, ":product/aws/guardduty") {
		f.ProductArn = productArn
		return f
	}
	return Finding{ProductArn: productArn, ID: id}
}

// Update is what to write on the findings.
type Update struct {
	Findings []Finding
	// Note is the note (CSPM) and comment (Security Hub); Bound keeps it
	// within 512 characters.
	Note string
	// InProgress sets Workflow.Status NOTIFIED (CSPM) and status_id In
	// Progress (Security Hub).
	InProgress bool
	// Fields are user-defined fields (CSPM only; OCSF has none to write).
	Fields map[string]string
	// Key names the state the update reports (Firebreak's status): the
	// same finding is written once per key, so re-deliveries cost nothing.
	Key string
}

// Writer writes updates through one Region's client.
type Writer struct {
	API awsapi.SecurityHub
	// Mode is contract.SecurityHubAuto, CSPM, V2 or Off.
	Mode string
	// Timeout bounds one Write (both APIs together); 0 means 5 s. The SDK
	// retries a throttled call twice within it, then the later event does.
	Timeout time.Duration
}

func (w Writer) apis() []string {
	switch w.Mode {
	case contract.SecurityHubCSPM:
		return []string{APIFindings}
	case contract.SecurityHubV2:
		return []string{APIFindingsV2}
	case contract.SecurityHubAuto:
		return []string{APIFindings, APIFindingsV2}
	}
	return nil
}

// Note writes a note and nothing else on the findings (release uses it):
// no workflow change, no fields. Every call writes.
func (w Writer) Note(ctx context.Context, findings []Finding, text string) report.SecurityHub {
	entry, _ := w.Write(ctx, Update{Findings: findings, Note: text}, Record{})
	return entry
}

// Write sends u to the APIs the mode names, except what rec says is written
// already, concurrently, and returns the report entry and rec with what this
// call wrote added.
func (w Writer) Write(ctx context.Context, u Update, rec Record) (report.SecurityHub, Record) {
	apis := w.apis()
	switch {
	case len(apis) == 0:
		return report.SecurityHub{Status: report.NotApplicable, Detail: "Security Hub write-back is off"}, rec
	case len(u.Findings) == 0:
		return report.SecurityHub{Status: report.NotApplicable, Detail: "no Security Hub finding names this instance"}, rec
	}
	timeout := w.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u.Note = Bound(u.Note)
	results := make([][]report.SecurityHubUpdate, len(apis))
	done := make(chan int, len(apis))
	for i, api := range apis {
		go func() {
			results[i] = w.send(ctx, api, u, rec)
			done <- i
		}()
	}
	for range apis {
		<-done
	}
	var all []report.SecurityHubUpdate
	for i, api := range apis {
		for _, r := range results[i] {
			switch {
			case r.Outcome == Written:
				rec = rec.With(entry(api, r.FindingID, r.Product, u.Key))
			case r.Outcome == NotEnabled && w.Mode == contract.SecurityHubAuto:
				rec = rec.With(offEntry(api))
			}
		}
		all = append(all, results[i]...)
	}
	return summarise(all), rec
}

// targets are the findings api addresses, in its identifiers.
func targets(api string, fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if api == APIFindings && f.ID != "" && f.ProductArn != "" || api == APIFindingsV2 && f.UID != "" {
			out = append(out, f)
		}
	}
	return out
}

func ids(api string, f Finding) (id, product string) {
	if api == APIFindings {
		return f.ID, f.ProductArn
	}
	return f.UID, f.ProductUID
}

// fewerRetries keeps a throttled write-back short: a later event writes it.
func fewerRetries(o *securityhub.Options) { o.RetryMaxAttempts = 3 }

// send writes u through one API and says what happened to each finding.
func (w Writer) send(ctx context.Context, api string, u Update, rec Record) []report.SecurityHubUpdate {
	var todo []Finding
	var out []report.SecurityHubUpdate
	for _, f := range targets(api, u.Findings) {
		id, product := ids(api, f)
		r := report.SecurityHubUpdate{API: api, FindingID: id, Product: product}
		switch {
		case rec.Has(entry(api, id, product, u.Key)):
			r.Outcome = AlreadyWritten
			out = append(out, r)
		case w.Mode == contract.SecurityHubAuto && rec.Has(offEntry(api)):
			r.Outcome = NotEnabled
			out = append(out, r)
		default:
			todo = append(todo, f)
		}
	}
	for chunk := range slices.Chunk(todo, MaxFindings) {
		if api == APIFindings {
			out = append(out, w.sendASFF(ctx, chunk, u)...)
		} else {
			out = append(out, w.sendOCSF(ctx, chunk, u)...)
		}
	}
	return out
}

func (w Writer) sendASFF(ctx context.Context, fs []Finding, u Update) []report.SecurityHubUpdate {
	in := &securityhub.BatchUpdateFindingsInput{Note: &shtypes.NoteUpdate{Text: aws.String(u.Note), UpdatedBy: aws.String(UpdatedBy)}}
	for _, f := range fs {
		in.FindingIdentifiers = append(in.FindingIdentifiers, shtypes.AwsSecurityFindingIdentifier{Id: aws.String(f.ID), ProductArn: aws.String(f.ProductArn)})
	}
	if u.InProgress {
		in.Workflow = &shtypes.WorkflowUpdate{Status: shtypes.WorkflowStatusNotified}
	}
	if len(u.Fields) > 0 {
		in.UserDefinedFields = boundFields(u.Fields)
	}
	out, err := w.API.BatchUpdateFindings(ctx, in, fewerRetries)
	res := map[string]report.SecurityHubUpdate{}
	for _, f := range fs {
		res[f.ProductArn+"|"+f.ID] = outcome(report.SecurityHubUpdate{API: APIFindings, FindingID: f.ID, Product: f.ProductArn}, Written, err)
	}
	if err == nil {
		for _, p := range out.UnprocessedFindings {
			key := aws.ToString(p.FindingIdentifier.ProductArn) + "|" + aws.ToString(p.FindingIdentifier.Id)
			r := res[key]
			r.Outcome, r.Error, r.Message = unprocessed(aws.ToString(p.ErrorCode)), aws.ToString(p.ErrorCode), aws.ToString(p.ErrorMessage)
			res[key] = r
		}
	}
	list := make([]report.SecurityHubUpdate, 0, len(fs))
	for _, f := range fs {
		list = append(list, res[f.ProductArn+"|"+f.ID])
	}
	return list
}

func (w Writer) sendOCSF(ctx context.Context, fs []Finding, u Update) []report.SecurityHubUpdate {
	in := &securityhub.BatchUpdateFindingsV2Input{Comment: aws.String(u.Note)}
	for _, f := range fs {
		in.FindingIdentifiers = append(in.FindingIdentifiers, shtypes.OcsfFindingIdentifier{CloudAccountUid: aws.String(f.AccountID),
			FindingInfoUid: aws.String(f.UID), MetadataProductUid: aws.String(f.ProductUID)})
	}
	if u.InProgress {
		in.StatusId = aws.Int32(statusInProgress)
	}
	out, err := w.API.BatchUpdateFindingsV2(ctx, in, fewerRetries)
	res := map[string]report.SecurityHubUpdate{}
	for _, f := range fs {
		res[f.UID+"|"+f.ProductUID] = outcome(report.SecurityHubUpdate{API: APIFindingsV2, FindingID: f.UID, Product: f.ProductUID}, Written, err)
	}
	if err == nil {
		for _, p := range out.UnprocessedFindings {
			if p.FindingIdentifier == nil {
				continue
			}
			key := aws.ToString(p.FindingIdentifier.FindingInfoUid) + "|" + aws.ToString(p.FindingIdentifier.MetadataProductUid)
			r := res[key]
			r.Outcome, r.Error, r.Message = unprocessed(string(p.ErrorCode)), string(p.ErrorCode), aws.ToString(p.ErrorMessage)
			res[key] = r
		}
	}
	list := make([]report.SecurityHubUpdate, 0, len(fs))
	for _, f := range fs {
		list = append(list, res[f.UID+"|"+f.ProductUID])
	}
	return list
}

// outcome classifies a whole call's error for one finding.
func outcome(r report.SecurityHubUpdate, ok string, err error) report.SecurityHubUpdate {
	if err == nil {
		r.Outcome = ok
		return r
	}
	r.Error, r.Message = errorCode(err), errorMessage(err)
	switch {
	case notEnabled(r.API, err):
		r.Outcome = NotEnabled
	case retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary:
		r.Outcome = Throttled
	case errors.Is(err, context.DeadlineExceeded), retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary:
		r.Outcome = Unavailable
	default:
		r.Outcome = Failed
	}
	return r
}

// notEnabled recognises a hub that is not enabled in the account and
// Region. Security Hub CSPM documents InvalidAccessException ("Account ...
// is not subscribed to AWS Security Hub"). Security Hub documents no answer
// for BatchUpdateFindingsV2: ResourceNotFoundException for the whole call
// (what DescribeSecurityHubV2 answers without a hub), or a refusal that
// says the hub is not enabled, are taken for it.
func notEnabled(api string, err error) bool {
	code, msg := errorCode(err), strings.ToLower(errorMessage(err))
	if api == APIFindings {
		return code == "InvalidAccessException"
	}
	return code == "ResourceNotFoundException" ||
		(code == "AccessDeniedException" || code == "ValidationException") && (strings.Contains(msg, "not enabled") || strings.Contains(msg, "not subscribed"))
}

// unprocessed classifies a per-finding error of either API.
func unprocessed(code string) string {
	switch code {
	case "FindingNotFound", "ResourceNotFoundException":
		return NotImported
	case "ConcurrentUpdateError", "ConflictException", "InternalFailure", "InternalServerException":
		return Unavailable
	}
	return Failed
}

// summarise turns the per-finding outcomes into the report entry: a failure
// shows first, then what a later event writes, then what was written.
func summarise(all []report.SecurityHubUpdate) report.SecurityHub {
	count := map[string]int{}
	for _, r := range all {
		count[r.Outcome]++
	}
	e := report.SecurityHub{Updates: all}
	n := len(all)
	switch {
	case n == 0:
		e.Status, e.Detail = report.NotApplicable, "no finding Security Hub can address"
	case count[Failed] > 0:
		e.Status, e.Detail = report.Failed, fmt.Sprintf("%d of %d updates refused (see the updates); the containment is not affected", count[Failed], n)
	case count[NotImported]+count[Throttled]+count[Unavailable] > 0:
		e.Status = report.Pending
		e.Detail = fmt.Sprintf("%d of %d updates not written yet (%d not imported by Security Hub yet, %d throttled, %d unavailable): the next event for the finding writes them",
			count[NotImported]+count[Throttled]+count[Unavailable], n, count[NotImported], count[Throttled], count[Unavailable])
	case count[Written] > 0:
		e.Status, e.Detail = report.Done, fmt.Sprintf("%d updates written", count[Written])
		if count[NotEnabled] > 0 {
			e.Detail += fmt.Sprintf("; %d not written where that Security Hub is not enabled", count[NotEnabled])
		}
	case count[AlreadyWritten] > 0:
		e.Status, e.Detail = report.Skipped, "already written for this finding and status: Security Hub not called"
	default:
		e.Status, e.Detail = report.NotApplicable, "Security Hub is not enabled in this account and Region: nothing written"
	}
	return e
}

// Bound keeps a note within 512 characters, one line of printable text:
// control and invisible characters become spaces, and a note too long is cut
// with an ellipsis. It is never blank, which Security Hub refuses.
func Bound(note string) string {
	note = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, note)
	note = strings.TrimSpace(note)
	if note == "" {
		return "Firebreak"
	}
	if utf8.RuneCountInString(note) <= MaxNoteChars {
		return note
	}
	runes := []rune(note)
	return strings.TrimSpace(string(runes[:MaxNoteChars-1])) + "…"
}

// boundFields keeps user-defined fields within Security Hub's limits.
func boundFields(in map[string]string) map[string]string {
	out := map[string]string{}
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if len(out) == maxFields || strings.TrimSpace(k) == "" || utf8.RuneCountInString(k) > maxKeyChars {
			continue
		}
		v := in[k]
		if utf8.RuneCountInString(v) > maxValueChars {
			v = string([]rune(v)[:maxValueChars])
		}
		out[k] = v
	}
	return out
}

func errorCode(err error) string {
	var ae smithy.APIError
	switch {
	case errors.As(err, &ae):
		return ae.ErrorCode()
	case errors.Is(err, context.DeadlineExceeded):
		return "Timeout"
	}
	return "Error"
}

func errorMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return err.Error()
}

// entry is the record of one finding written for one key through one API.
func entry(api, id, product, key string) string {
	sum := sha256.Sum256([]byte(id + "|" + product + "|" + key))
	return short(api) + ":" + hex.EncodeToString(sum[:4])
}

// offEntry records that an API's hub is not enabled (auto mode only).
func offEntry(api string) string { return short(api) + ":off" }

func short(api string) string {
	if api == APIFindings {
		return "cspm"
	}
	return "v2"
}
