package finding

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// ReleaseRequest is a manual release request, decoded as strictly as a
// containment request: exact keys, dryRun required, no nulls.
type ReleaseRequest struct {
	InstanceID string `json:"instanceId"`
	Reason     string `json:"reason"`
	DryRun     bool   `json:"dryRun"`
	// Reattach puts the instance back in its Auto Scaling group and load
	// balancers (default false: the group launched a replacement).
	Reattach bool `json:"reattach,omitempty"`
	// RequestedBy is who the requester says they are: recorded as their
	// word, not verified (Lambda passes the function no caller identity).
	RequestedBy string `json:"requestedBy,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	Region      string `json:"region,omitempty"`
}

// releaseKeys are the exact JSON keys of a ReleaseRequest.
var releaseKeys = []string{"instanceId", "reason", "dryRun", "reattach", "requestedBy", "accountId", "region"}

const releaseShapes = `expected a release request {"instanceId": "i-...", "reason": "...", "dryRun": true|false, "reattach": false} or the Security Hub custom action "` +
	contract.ReleaseActionName + `"`

// ReleaseInput is what the release function receives: a person's manual
// request, or the Security Hub release action a person chose in the console.
type ReleaseInput struct {
	Source      string          `json:"source"` // SourceManual or SourceSecurityHub
	Envelope    Envelope        `json:"envelope,omitzero"`
	Manual      *ReleaseRequest `json:"manual,omitempty"`
	SecurityHub *CustomAction   `json:"securityHub,omitempty"`
	// Targets are the instances to release, in order, without repeats.
	Targets []string `json:"targets,omitempty"`
}

// ParseRelease decodes what the release function was sent. A GuardDuty
// finding, another Security Hub action or a containment request is refused:
// a release is always a person's decision, and only this one.
func ParseRelease(raw []byte) (*ReleaseInput, error) {
	trimmed := bytes.TrimSpace(raw)
	var top map[string]json.RawMessage
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &top) != nil || len(top) == 0 {
		return nil, fmt.Errorf("%w: not a JSON object: %s", ErrUnrecognized, releaseShapes)
	}
	if !hasAny(top, "source", "detail-type", "detail") {
		req, err := parseReleaseRequest(trimmed)
		if err != nil {
			return nil, err
		}
		return &ReleaseInput{Source: SourceManual, Manual: req, Targets: []string{req.InstanceID}}, nil
	}
	var env Envelope
	if err := json.Unmarshal(trimmed, &env); err != nil {
		return nil, fmt.Errorf("%w: decoding EventBridge envelope: %v", ErrUnrecognized, err)
	}
	switch {
	case env.Source == EventSourceGuardDuty:
		return nil, fmt.Errorf("%w: a GuardDuty event: the release function never acts on a finding, only on a person's request: %s", ErrUnrecognized, releaseShapes)
	case env.Source != EventSourceSecurityHub || env.DetailType != DetailTypeCustomAction:
		return nil, fmt.Errorf("%w: event %q from %q: %s", ErrUnrecognized, env.DetailType, env.Source, releaseShapes)
	case !slices.ContainsFunc(env.Resources, isReleaseAction):
		return nil, fmt.Errorf("%w: the custom action %v is not %q (action id %s): %s", ErrUnrecognized, env.Resources, contract.ReleaseActionName, contract.ReleaseActionID, releaseShapes)
	}
	in, err := parseSecurityHub(env, top["detail"])
	if err != nil {
		return nil, err
	}
	if len(in.Targets) == 0 {
		return nil, fmt.Errorf("%w: the Security Hub action names no EC2 instance", ErrInvalid)
	}
	return &ReleaseInput{Source: SourceSecurityHub, Envelope: env, SecurityHub: in.SecurityHub, Targets: in.Targets}, nil
}

// isReleaseAction recognises the release action's ARN
// (arn:<partition>:securityhub:<region>:<account>:action/custom/<id>).
func isReleaseAction(arn string) bool {
	return strings.HasPrefix(arn, "arn:") && strings.HasSuffix(arn, ":action/custom/"+contract.ReleaseActionID)
}

func parseReleaseRequest(raw []byte) (*ReleaseRequest, error) {
	fields, err := exactObject(raw, releaseKeys)
	if err != nil {
		return nil, invalidRelease(err)
	}
	var req ReleaseRequest
	if err := readStrings(fields, []field{{"instanceId", &req.InstanceID}, {"reason", &req.Reason},
		{"requestedBy", &req.RequestedBy}, {"accountId", &req.AccountID}, {"region", &req.Region}}); err != nil {
		return nil, invalidRelease(err)
	}
	if req.DryRun, err = readBool(fields, "dryRun", "true to plan only, false to release"); err != nil {
		return nil, invalidRelease(err)
	}
	if req.Reattach, err = readBool(fields, "reattach", ""); err != nil {
		return nil, invalidRelease(err)
	}
	if err := checkTarget(req.InstanceID, req.Reason, "released", req.AccountID, req.Region); err != nil {
		return nil, invalidRelease(err)
	}
	return &req, nil
}

func invalidRelease(err error) error {
	return fmt.Errorf("%w: release request: %v", ErrInvalid, err)
}

// AccountID is the account the release is for: the request's, or the
// Security Hub finding's; empty means the function's own.
func (in *ReleaseInput) AccountID() string {
	switch {
	case in.Manual != nil:
		return in.Manual.AccountID
	case in.SecurityHub != nil:
		if f := in.SecurityHub.firstWithTargets(); f != nil && f.AccountID != "" {
			return f.AccountID
		}
	}
	return in.Envelope.Account
}

// Region is the Region the release is for, chosen like AccountID.
func (in *ReleaseInput) Region() string {
	switch {
	case in.Manual != nil:
		return in.Manual.Region
	case in.SecurityHub != nil:
		if f := in.SecurityHub.firstWithTargets(); f != nil && f.Region != "" {
			return f.Region
		}
	}
	return in.Envelope.Region
}

// FindingIDs are the GuardDuty finding ids a Security Hub release names.
func (in *ReleaseInput) FindingIDs() []string {
	var ids []string
	if in.SecurityHub != nil {
		for _, f := range in.SecurityHub.Findings {
			if f.GuardDutyID != "" && !slices.Contains(ids, f.GuardDutyID) {
				ids = append(ids, f.GuardDutyID)
			}
		}
	}
	return ids
}

// IsSample reports whether a Security Hub release names a sample finding
// (placeholder values, never acted on).
func (in *ReleaseInput) IsSample() bool {
	return in.SecurityHub != nil && slices.ContainsFunc(in.SecurityHub.Findings, func(f SecurityHubFinding) bool { return f.Sample })
}
