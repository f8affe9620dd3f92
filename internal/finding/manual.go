package finding

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
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
	fields, err := exactObject(raw, requestKeys)
	if err != nil {
		return nil, invalidRequest(err)
	}
	var req Request
	if err := readStrings(fields, []field{{"instanceId", &req.InstanceID}, {"reason", &req.Reason},
		{"accountId", &req.AccountID}, {"region", &req.Region}, {"caseId", &req.CaseID}}); err != nil {
		return nil, invalidRequest(err)
	}
	// A forgotten dryRun must not default to a real run.
	if req.DryRun, err = readBool(fields, "dryRun", "true to plan only, false to contain"); err != nil {
		return nil, invalidRequest(err)
	}
	if err := checkTarget(req.InstanceID, req.Reason, "contained", req.AccountID, req.Region); err != nil {
		return nil, invalidRequest(err)
	}
	return &req, nil
}

// field is a request key and where its string value goes.
type field struct {
	key string
	dst *string
}

// readStrings fills each destination from its key, when given: a non-empty
// JSON string. Fields are checked in the order given.
func readStrings(fields map[string]json.RawMessage, dst []field) error {
	for _, f := range dst {
		v, ok := fields[f.key]
		if !ok {
			continue
		}
		if err := json.Unmarshal(v, f.dst); err != nil {
			return fmt.Errorf("%s must be a JSON string", f.key)
		}
		if strings.TrimSpace(*f.dst) == "" {
			return fmt.Errorf("%s is empty", f.key)
		}
	}
	return nil
}

// readBool reads a JSON boolean; required is how a missing one is
// explained, "" when it may be left out (false).
func readBool(fields map[string]json.RawMessage, key, required string) (bool, error) {
	switch v, ok := fields[key]; {
	case !ok && required != "":
		return false, fmt.Errorf("%s is required: %s", key, required)
	case !ok:
		return false, nil
	case string(v) == "true":
		return true, nil
	case string(v) == "false":
		return false, nil
	default:
		return false, fmt.Errorf("%s must be the JSON boolean true or false, got %s", key, v)
	}
}

// checkTarget checks the fields every request names: which instance, why,
// and optionally where.
func checkTarget(instanceID, reason, done, accountID, region string) error {
	switch {
	case instanceID == "":
		return errors.New("instanceId is required")
	case !ValidInstanceID(instanceID):
		return fmt.Errorf("instanceId %q is not an EC2 instance id (i- and 8 or 17 hex digits)", instanceID)
	case reason == "":
		return fmt.Errorf("reason is required: say why the instance is %s", done)
	case accountID != "" && !accountIDPattern.MatchString(accountID):
		return fmt.Errorf("accountId %q is not a 12-digit account id", accountID)
	case region != "" && !regionPattern.MatchString(region):
		return fmt.Errorf("region %q is not a Region code such as us-east-1", region)
	}
	return nil
}

func invalidRequest(err error) error {
	return fmt.Errorf("%w: manual request: %v", ErrInvalid, err)
}

// exactObject reads one JSON object whose keys are all in keys, spelled
// exactly and given once, with nothing after it. Null values are refused:
// null would decode as the zero value without a word.
func exactObject(raw []byte, keys []string) (map[string]json.RawMessage, error) {
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
		if !slices.Contains(keys, key) {
			return nil, unknownKey(key, keys)
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

func unknownKey(key string, keys []string) error {
	// A release request sent to the contain function (or the reverse) is
	// refused with a word about where it belongs.
	if slices.Contains(keys, "dryRun") && !slices.Contains(keys, key) {
		switch {
		case slices.Contains(releaseKeys, key) && !slices.Contains(requestKeys, key):
			return fmt.Errorf("unknown field %q: this looks like a release request; send it to the release function, not the contain function", key)
		case slices.Contains(requestKeys, key) && !slices.Contains(releaseKeys, key):
			return fmt.Errorf("unknown field %q: this looks like a containment request; send it to the contain function, not the release function", key)
		}
	}
	for _, k := range keys {
		if strings.EqualFold(k, key) {
			return fmt.Errorf("unknown field %q (did you mean %q?); fields are %s", key, k, strings.Join(keys, ", "))
		}
	}
	return fmt.Errorf("unknown field %q; fields are %s", key, strings.Join(keys, ", "))
}
