package securityhub

import (
	"strings"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// maxTagChars is EC2's limit on a tag value.
const maxTagChars = 256

// Record is what was written for one instance, as kept in its
// contract.TagSecurityHub tag: one entry per finding, API and key written
// ("cspm:1a2b3c4d"), and one per hub found not enabled ("v2:off"). It comes
// back with DescribeInstances, so a re-delivery knows for free whether
// Security Hub must be called.
type Record struct{ entries []string }

// ParseRecord reads the tag's value.
func ParseRecord(tag string) Record { return Record{entries: strings.Fields(tag)} }

// Has reports whether an entry is recorded.
func (r Record) Has(e string) bool {
	for _, x := range r.entries {
		if x == e {
			return true
		}
	}
	return false
}

// With returns the record with e added (a copy: r is not changed).
func (r Record) With(e string) Record {
	if r.Has(e) {
		return r
	}
	return Record{entries: append(append([]string(nil), r.entries...), e)}
}

// String is the tag value: the newest entries that fit in 256 characters.
func (r Record) String() string {
	entries := r.entries
	for len(strings.Join(entries, " ")) > maxTagChars {
		entries = entries[1:]
	}
	return strings.Join(entries, " ")
}

// Pending reports whether an update still has something to write through
// the mode's APIs: what a scheduled sweep asks before calling Security Hub.
func (w Writer) Pending(u Update, rec Record) bool {
	for _, api := range w.apis() {
		if w.Mode == contract.SecurityHubAuto && rec.Has(offEntry(api)) {
			continue
		}
		for _, f := range targets(api, u.Findings) {
			id, product := ids(api, f)
			if !rec.Has(entry(api, id, product, u.Key)) {
				return true
			}
		}
	}
	return false
}
