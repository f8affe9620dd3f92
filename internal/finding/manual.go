package finding

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Request is a manual containment request, sent by a person (Lambda console,
// CLI invoke). It is decoded strictly: every key must be spelled exactly, no
// key may repeat, and dryRun must be given as a JSON boolean, because the
// cost of a misread request is an unwanted real containment.
type Request struct {
	InstanceID string `json:"instanceId"`
	Reason     string `json:"reason"`
	DryRun     bool   `json:"dryRun"`
	AccountID  string `json:"accountId,omitempty"`
	Region     string `json:"region,omitempty"`
	CaseID     string `json:"caseId,omitempty"`
}

var (
	accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

// requestKeys are the exact JSON keys of a Request. encoding/json matches
// keys case-insensitively, so "dryrun" would silently fill DryRun: the keys
// are checked by hand before decoding.
var requestKeys = []string{"instanceId", "reason", "dryRun", "accountId", "region", "caseId"}

func parseRequest(raw []byte) (*Request, error) {
	fields, err := exactObject(raw)
	if err != nil {
		return nil, invalidRequest(err)
	}
	var req Request
	str := func(key string, dst *string) error {
		v, ok := fields[key]
		if !ok {
			return nil
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return fmt.Errorf("%s must be a JSON string", key)
		}
		if strings.TrimSpace(*dst) == "" {
			return fmt.Errorf("%s is empty", key)
		}
		return nil
	}
	for _, step := range []error{
		str("instanceId", &req.InstanceID),
		str("reason", &req.Reason),
		str("accountId", &req.AccountID),
		str("region", &req.Region),
		str("caseId", &req.CaseID),
	} {
		if step != nil {
			return nil, invalidRequest(step)
		}
	}
	switch v, ok := fields["dryRun"]; {
	case !ok:
		// A forgotten dryRun must not default to a real run.
		return nil, invalidRequest(errors.New("dryRun is required: true to plan only, false to contain"))
	case string(v) == "true":
		req.DryRun = true
	case string(v) == "false":
		req.DryRun = false
	default:
		return nil, invalidRequest(fmt.Errorf("dryRun must be the JSON boolean true or false, got %s", v))
	}
	switch {
	case req.InstanceID == "":
		return nil, invalidRequest(errors.New("instanceId is required"))
	case !ValidInstanceID(req.InstanceID):
		return nil, invalidRequest(fmt.Errorf("instanceId %q is not an EC2 instance id (i- and 8 or 17 hex digits)", req.InstanceID))
	case req.Reason == "":
		return nil, invalidRequest(errors.New("reason is required: say why the instance is contained"))
	case req.AccountID != "" && !accountIDPattern.MatchString(req.AccountID):
		return nil, invalidRequest(fmt.Errorf("accountId %q is not a 12-digit account id", req.AccountID))
	case req.Region != "" && !regionPattern.MatchString(req.Region):
		return nil, invalidRequest(fmt.Errorf("region %q is not a Region code such as us-east-1", req.Region))
	}
	return &req, nil
}

func invalidRequest(err error) error {
	return fmt.Errorf("%w: manual request: %v", ErrInvalid, err)
}

// exactObject reads one JSON object whose keys are all in requestKeys,
// spelled exactly and given once, with nothing after it. Null values are
// refused: null would decode as the zero value without a word.
func exactObject(raw []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("expected a JSON object")
	}
	fields := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("reading key: %w", err)
		}
		key, _ := tok.(string)
		if !isRequestKey(key) {
			return nil, unknownKey(key)
		}
		if _, dup := fields[key]; dup {
			return nil, fmt.Errorf("key %q appears twice", key)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("reading %s: %w", key, err)
		}
		if isNull(v) {
			return nil, fmt.Errorf("%s must not be null", key)
		}
		fields[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("reading end of object: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the JSON object")
	}
	return fields, nil
}

func isRequestKey(key string) bool {
	for _, k := range requestKeys {
		if k == key {
			return true
		}
	}
	return false
}

func unknownKey(key string) error {
	for _, k := range requestKeys {
		if strings.EqualFold(k, key) {
			return fmt.Errorf("unknown field %q (did you mean %q?); fields are %s", key, k, strings.Join(requestKeys, ", "))
		}
	}
	return fmt.Errorf("unknown field %q; fields are %s", key, strings.Join(requestKeys, ", "))
}
