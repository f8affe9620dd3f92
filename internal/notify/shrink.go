package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/firebreak-ir/firebreak/internal/report"
)

// cutback is one level of shortening of the report JSON. Levels only ever
// remove more than the one before, so the first that fits loses the least.
type cutback struct {
	dropActions bool
	maxString   int // bytes per string; 0 keeps them whole
	maxList     int // entries per list; 0 keeps them whole
}

var cutbacks = []cutback{
	{},
	{dropActions: true},
	{dropActions: true, maxString: 4096},
	{dropActions: true, maxString: 1024},
	{dropActions: true, maxString: 256},
	{dropActions: true, maxString: 64},
	{dropActions: true, maxString: 64, maxList: 1000},
	{dropActions: true, maxString: 64, maxList: 100},
	{dropActions: true, maxString: 64, maxList: 10},
}

// reportJSON returns the text that follows the summary: a note on what was
// shortened (if anything), the separator and the indented report JSON, at
// most room bytes long. If even the shortest JSON does not fit, the JSON is
// left out and the note says so.
func reportJSON(r *report.Report, room int) string {
	where := fullReportLocation(r)
	for i, c := range cutbacks {
		if c.maxList == 0 && minListSize(r, c.dropActions) > room {
			continue // long lists alone overflow: not even worth copying
		}
		short := c.apply(r)
		if minJSONSize(short) > room {
			// Encoding megabytes just to learn they do not fit is slow.
			continue
		}
		js, err := indentedJSON(short)
		if err != nil {
			return fmt.Sprintf("NOTE: the report JSON could not be encoded (%s). %s\n", text(err.Error(), maxLine), where)
		}
		var b strings.Builder
		if i > 0 {
			fmt.Fprintf(&b, "NOTE: the report JSON below is shortened to fit the SNS size limit (%d bytes): %s. %s\n\n", MaxMessageBytes, c.describe(), where)
		}
		b.WriteString(Separator + "\n")
		b.Write(escapeInvisibleJSON(js))
		b.WriteString("\n")
		if b.Len() <= room {
			return b.String()
		}
	}
	return fmt.Sprintf("NOTE: the report JSON is left out: even shortened it does not fit the SNS size limit (%d bytes). %s\n", MaxMessageBytes, where)
}

func fullReportLocation(r *report.Report) string {
	if r.Evidence != nil && r.Evidence.Bucket != "" {
		return "The full report is in the evidence bucket: s3://" + text(r.Evidence.Bucket, maxField) + "/"
	}
	return "No evidence bucket was recorded: the full report is in the function's log."
}

func (c cutback) describe() string {
	var parts []string
	if c.dropActions {
		parts = append(parts, "per-step action lists removed")
	}
	if c.maxString > 0 {
		parts = append(parts, fmt.Sprintf("strings cut to %d bytes", c.maxString))
	}
	if c.maxList > 0 {
		parts = append(parts, fmt.Sprintf("lists cut to their first %d entries", c.maxList))
	}
	return strings.Join(parts, ", ")
}

// apply returns a shortened deep copy; the caller's report is never changed.
func (c cutback) apply(r *report.Report) *report.Report {
	s := func(v string) string { return cut(v, c.maxString) }
	n := func(l int) int {
		if c.maxList > 0 && l > c.maxList {
			return c.maxList
		}
		return l
	}
	out := *r
	out.Decision = report.Decision(s(string(r.Decision)))
	out.Reason = s(r.Reason)
	out.InstanceID = s(r.InstanceID)
	out.Source = s(r.Source)
	out.CaseID = s(r.CaseID)
	out.AccountID = s(r.AccountID)
	out.Region = s(r.Region)
	if r.Instances != nil {
		out.Instances = make([]string, n(len(r.Instances)))
		for i := range out.Instances {
			out.Instances[i] = s(r.Instances[i])
		}
	}
	if r.Finding != nil {
		f := *r.Finding
		f.ID, f.Type, f.AccountID, f.Region = s(f.ID), s(f.Type), s(f.AccountID), s(f.Region)
		f.ResourceRole, f.Title = s(f.ResourceRole), s(f.Title)
		out.Finding = &f
	}
	if r.Evidence != nil {
		e := *r.Evidence
		e.Bucket, e.Key, e.SHA256 = s(e.Bucket), s(e.Key), s(e.SHA256)
		out.Evidence = &e
	}
	if r.NACLEntries != nil {
		out.NACLEntries = make([]report.NACLEntry, n(len(r.NACLEntries)))
		for i := range out.NACLEntries {
			e := r.NACLEntries[i]
			e.NetworkACLID, e.CIDR = s(e.NetworkACLID), s(e.CIDR)
			out.NACLEntries[i] = e
		}
	}
	if r.Steps != nil {
		out.Steps = make([]report.Step, n(len(r.Steps)))
		for i := range out.Steps {
			st := r.Steps[i]
			st.Name, st.Detail, st.Error, st.Message = s(st.Name), s(st.Detail), s(st.Error), s(st.Message)
			st.Status = report.Status(s(string(st.Status)))
			if c.dropActions {
				st.Actions = nil
			} else if st.Actions != nil {
				st.Actions = make([]string, n(len(r.Steps[i].Actions)))
				for j := range st.Actions {
					st.Actions[j] = s(r.Steps[i].Actions[j])
				}
			}
			out.Steps[i] = st
		}
	}
	return &out
}

// minListSize is the part of minJSONSize that the list lengths alone decide.
func minListSize(r *report.Report, dropActions bool) int {
	n := len(r.Instances)*len(`"",`) + len(r.NACLEntries)*len(`{"networkAclId":"","ruleNumber":0,"egress":false,"cidr":""}`) +
		len(r.Steps)*len(`{"name":"","status":"","detail":""}`)
	if !dropActions {
		for _, st := range r.Steps {
			n += len(st.Actions) * len(`"",`)
		}
	}
	return n
}

// minJSONSize is a lower bound on the size of a report's JSON: JSON never
// encodes a string in fewer bytes than it has, and every list element costs
// at least its punctuation and keys.
func minJSONSize(r *report.Report) int {
	n := len(r.Decision) + len(r.Reason) + len(r.InstanceID) + len(r.Source) + len(r.CaseID) + len(r.AccountID) + len(r.Region)
	for _, v := range r.Instances {
		n += len(v) + len(`"",`)
	}
	if f := r.Finding; f != nil {
		n += len(f.ID) + len(f.Type) + len(f.AccountID) + len(f.Region) + len(f.ResourceRole) + len(f.Title)
	}
	if e := r.Evidence; e != nil {
		n += len(e.Bucket) + len(e.Key) + len(e.SHA256)
	}
	for _, e := range r.NACLEntries {
		n += len(e.NetworkACLID) + len(e.CIDR) + len(`{"networkAclId":"","ruleNumber":0,"egress":false,"cidr":""}`)
	}
	for _, st := range r.Steps {
		n += len(st.Name) + len(st.Status) + len(st.Detail) + len(st.Error) + len(st.Message) + len(`{"name":"","status":"","detail":""}`)
		for _, a := range st.Actions {
			n += len(a) + len(`"",`)
		}
	}
	return n
}

// indentedJSON encodes the report with the finding's own characters: the
// message is plain text, where \u0026 for & would only be noise.
func indentedJSON(r *report.Report) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
