package finding

import (
	"bytes"
	"encoding/json"
	"strings"
)

// AdditionalInfo is service.additionalInfo. GuardDuty sends it in two shapes:
// a flat object ({"sample": true, ...}) or a wrapper
// {"type": "default", "value": "<JSON text>"} whose value string may itself be
// invalid JSON. Both are read; the raw JSON is kept for re-encoding.
type AdditionalInfo struct {
	raw    json.RawMessage
	fields map[string]json.RawMessage
}

// IsZero reports whether the finding carried no additionalInfo.
func (a AdditionalInfo) IsZero() bool { return len(a.raw) == 0 }

// UnmarshalJSON never fails on content: additionalInfo is free-form and a
// surprise inside it must not cost us the whole finding.
func (a *AdditionalInfo) UnmarshalJSON(b []byte) error {
	*a = AdditionalInfo{}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	a.raw = append(json.RawMessage(nil), b...)
	var obj map[string]json.RawMessage
	if json.Unmarshal(b, &obj) != nil {
		return nil
	}
	a.fields = obj
	if typ, ok := stringField(obj, "type"); ok && typ == "default" {
		if value, ok := stringField(obj, "value"); ok {
			var inner map[string]json.RawMessage
			if json.Unmarshal([]byte(value), &inner) == nil {
				a.fields = inner
			}
		}
	}
	return nil
}

// MarshalJSON writes back what was read.
func (a AdditionalInfo) MarshalJSON() ([]byte, error) {
	if len(a.raw) == 0 {
		return []byte("null"), nil
	}
	return a.raw, nil
}

// Get returns one field of the flat object, or of the JSON inside "value".
func (a AdditionalInfo) Get(key string) (json.RawMessage, bool) {
	v, ok := a.fields[key]
	return v, ok
}

// Sample reports whether either shape says sample: true. The string "true"
// counts too: Security Hub flattens the same field to strings.
func (a AdditionalInfo) Sample() bool {
	v, ok := a.fields["sample"]
	if !ok {
		return false
	}
	var b bool
	if json.Unmarshal(v, &b) == nil {
		return b
	}
	var s string
	return json.Unmarshal(v, &s) == nil && strings.EqualFold(strings.TrimSpace(s), "true")
}

func stringField(obj map[string]json.RawMessage, key string) (string, bool) {
	v, ok := obj[key]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}
