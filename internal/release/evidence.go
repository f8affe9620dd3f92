package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/firebreak-ir/firebreak/internal/async"
	"github.com/firebreak-ir/firebreak/internal/awserr"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
	"github.com/firebreak-ir/firebreak/internal/runbook"
)

// maxEvidence bounds what is read of one evidence object.
const maxEvidence = 32 << 20

// evidence is the verified pre-change record and what the containment's
// reports say it added.
type evidence struct {
	caseID string
	key    string
	record runbook.Record
	report *report.Evidence
	// added are the network ACL entries the containment's reports record
	// as created by it; addedErr is set when the reports could not be read.
	added    []report.NACLEntry
	addedErr error
}

// evidence loads the record the instance's tags name and verifies it: the
// version they name, its SHA-256 equal to the tag's and to the checksum S3
// recorded at upload, and a record of this instance, case, account and Region.
// why says what is wrong with it; nothing may change then.
func (r *run) evidence(ctx context.Context) (st report.Step, why string, retry bool) {
	caseID, digest, version := r.tags[contract.TagCaseID], r.tags[contract.TagEvidenceSHA256], r.tags[contract.TagEvidenceVersion]
	key := runbook.EvidenceKey(r.req.AccountID, r.req.Region, r.req.InstanceID, caseID, "capture.json")
	where := fmt.Sprintf("s3://%s/%s", r.opt.EvidenceBucket, key)
	refuse := func(err error, format string, args ...any) (report.Step, string, bool) {
		why := fmt.Sprintf(format, args...)
		s := report.Step{Name: report.StepEvidence, Status: report.Failed, Detail: why + "; nothing was changed", Error: "EvidenceRefused"}
		if err != nil {
			s.Error, s.Message = awserr.Code(err), err.Error()
		}
		return s, why, err != nil && awserr.Transient(awserr.Code(err))
	}
	switch {
	case caseID == "":
		return refuse(nil, "the instance names no case (%s): its evidence cannot be found", contract.TagCaseID)
	case digest == "" || version == "":
		return refuse(nil, "the containment recorded no evidence digest and version on the instance (%s, %s): Firebreak releases only from verified evidence; restore by hand from %s",
			contract.TagEvidenceSHA256, contract.TagEvidenceVersion, where)
	}

	// The reports are read beside the record: they name the entries the hard cut added.
	reports := async.Go(func() reportEntries { return r.addedEntries(ctx, path.Dir(key)) })
	out, err := r.api.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.opt.EvidenceBucket), Key: aws.String(key),
		VersionId: aws.String(version), ChecksumMode: s3types.ChecksumModeEnabled})
	if err != nil {
		return refuse(err, "the evidence %s (version %s) could not be read (%s)", where, version, awserr.Code(err))
	}
	body, err := io.ReadAll(io.LimitReader(out.Body, maxEvidence))
	out.Body.Close()
	if err != nil {
		// The SDK checks the body against S3's checksum as it reads it.
		return refuse(err, "the evidence %s (version %s) is altered or unreadable: %v", where, version, err)
	}
	sum := sha256.Sum256(body)
	switch got := hex.EncodeToString(sum[:]); {
	case got != digest:
		return refuse(nil, "the evidence %s (version %s) is altered: its SHA-256 is %s, the instance records %s", where, version, got, digest)
	case aws.ToString(out.ChecksumSHA256) == "":
		return refuse(nil, "S3 returned no SHA-256 checksum for %s (version %s): its integrity cannot be checked", where, version)
	case aws.ToString(out.ChecksumSHA256) != base64.StdEncoding.EncodeToString(sum[:]):
		return refuse(nil, "the evidence %s (version %s) is altered: it no longer matches the checksum S3 recorded at upload", where, version)
	}
	var rec runbook.Record
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&rec); err != nil {
		return refuse(nil, "the evidence %s is not a Firebreak record: %v", where, err)
	}
	switch id := aws.ToString(rec.Instance.InstanceId); {
	case id != r.req.InstanceID:
		return refuse(nil, "the evidence %s is the record of instance %q, not of %s: foreign evidence is never applied", where, id, r.req.InstanceID)
	case rec.CaseID != caseID:
		return refuse(nil, "the evidence %s is the record of case %q, but the instance names case %q", where, rec.CaseID, caseID)
	case rec.AccountID != r.req.AccountID || rec.Region != r.req.Region:
		return refuse(nil, "the evidence %s is the record of %s/%s, not of this account and Region (%s/%s)", where, rec.AccountID, rec.Region, r.req.AccountID, r.req.Region)
	case len(rec.NetworkInterfaces) == 0:
		return refuse(nil, "the evidence %s records no network interface: there is nothing to restore the isolation from", where)
	}
	added := reports.Wait()
	r.ev = &evidence{caseID: caseID, key: key, record: rec, added: added.entries, addedErr: added.err,
		report: &report.Evidence{Bucket: r.opt.EvidenceBucket, Key: key, SHA256: digest}}
	detail := fmt.Sprintf("%s version %s verified: SHA-256 %s matches the instance's tag and S3's checksum; the record of %s, case %s, captured %s; %d reports read",
		key, version, digest, r.req.InstanceID, caseID, rec.CapturedAt.Format("2006-01-02T15:04:05Z"), added.reports)
	if added.err != nil {
		detail += fmt.Sprintf("; the reports could not all be read (%s)", awserr.Code(added.err))
	}
	return report.Step{Name: report.StepEvidence, Status: report.Done, Detail: detail, Actions: []string{"read " + where + " version " + version}}, "", false
}

type reportEntries struct {
	entries []report.NACLEntry
	reports int
	err     error
}

// addedEntries collects the network ACL entries every containment report of
// the case records as added (a retry finds an earlier attempt's entries in
// place and records them as present, so the reports are read together).
func (r *run) addedEntries(ctx context.Context, dir string) reportEntries {
	var res reportEntries
	var keys []string
	p := s3.NewListObjectsV2Paginator(r.api.S3, &s3.ListObjectsV2Input{Bucket: aws.String(r.opt.EvidenceBucket), Prefix: aws.String(dir + "/report-")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			res.err = fmt.Errorf("listing the reports under %s: %w", dir, err)
			return res
		}
		for _, o := range page.Contents {
			if strings.HasSuffix(aws.ToString(o.Key), ".json") {
				keys = append(keys, aws.ToString(o.Key))
			}
		}
	}
	found := make([][]report.NACLEntry, len(keys))
	errs := async.Each(indexes(len(keys)), func(i int) error {
		out, err := r.api.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.opt.EvidenceBucket), Key: aws.String(keys[i]), ChecksumMode: s3types.ChecksumModeEnabled})
		if err != nil {
			return fmt.Errorf("reading %s: %w", keys[i], err)
		}
		defer out.Body.Close()
		var rep report.Report
		if err := json.NewDecoder(io.LimitReader(out.Body, maxEvidence)).Decode(&rep); err != nil {
			return fmt.Errorf("reading %s: %w", keys[i], err)
		}
		if rep.InstanceID != r.req.InstanceID {
			return fmt.Errorf("%s is a report about %q, not %s", keys[i], rep.InstanceID, r.req.InstanceID)
		}
		for _, e := range rep.NACLEntries {
			if e.Added {
				found[i] = append(found[i], e)
			}
		}
		return nil
	})
	res.reports = len(keys)
	res.err = errors.Join(errs...)
	seen := map[report.NACLEntry]bool{}
	for _, es := range found {
		for _, e := range es {
			if !seen[e] {
				seen[e] = true
				res.entries = append(res.entries, e)
			}
		}
	}
	return res
}

func indexes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
