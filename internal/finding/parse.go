// Package finding decodes what the containment Lambda receives: a GuardDuty
// finding delivered by EventBridge, a Security Hub custom action, or a manual
// request typed by a person.
//
// GuardDuty findings are decoded tolerantly (fields come and go); manual
// requests strictly (a typo must never turn a dry run into a real one).
package finding

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Sources of an Input.
const (
	SourceGuardDuty   = "guardduty"
	SourceSecurityHub = "securityhub"
	SourceManual      = "manual"
	// SourceSchedule is the scheduled sweep's request {"sweep": true}.
	SourceSchedule = "schedule"
)

// EventBridge source and detail-type values Firebreak recognises.
const (
	EventSourceGuardDuty   = "aws.guardduty"
	EventSourceSecurityHub = "aws.securityhub"
	DetailTypeFinding      = "GuardDuty Finding"
	DetailTypeCustomAction = "Security Hub Findings - Custom Action"
	expectedShapes         = `expected an EventBridge event from aws.guardduty or aws.securityhub, a manual request {"instanceId": "i-...", "reason": "...", "dryRun": true|false}, or the schedule's {"sweep": true}`
)

var (
	// ErrUnrecognized means the payload is none of the accepted shapes.
	ErrUnrecognized = errors.New("unrecognized event")
	// ErrInvalid means the payload has an accepted shape but unusable content.
	ErrInvalid = errors.New("invalid event")
)

// Envelope is the part of the EventBridge envelope worth keeping. Its id is
// per delivery, not the finding id.
type Envelope struct {
	Version    string    `json:"version,omitempty"`
	ID         string    `json:"id,omitempty"`
	DetailType string    `json:"detail-type,omitempty"`
	Source     string    `json:"source,omitempty"`
	Account    string    `json:"account,omitempty"`
	Time       Timestamp `json:"time,omitzero"`
	Region     string    `json:"region,omitempty"`
	Resources  []string  `json:"resources,omitempty"`
}

// Input is a decoded event.
type Input struct {
	// Source is SourceGuardDuty, SourceSecurityHub or SourceManual.
	Source string `json:"source"`
	// Envelope is empty for a manual request.
	Envelope Envelope `json:"envelope,omitzero"`
	// Finding is the GuardDuty finding: decoded from a "GuardDuty Finding"
	// event, or summarised from the first GuardDuty finding of a Security Hub
	// custom action. Nil otherwise.
	Finding *Finding `json:"finding,omitempty"`
	// Manual is the request of a person; nil for events.
	Manual *Request `json:"manual,omitempty"`
	// SecurityHub is the custom action; nil for other sources.
	SecurityHub *CustomAction `json:"securityHub,omitempty"`
	// Targets are the well-formed instance ids a Security Hub action names,
	// in order, without repeats.
	Targets []string `json:"targets,omitempty"`
	// Sweep is set by the schedule's request to verify every contained instance.
	Sweep bool `json:"sweep,omitempty"`
}

// Parse decodes raw into an Input. It returns an error wrapping ErrUnrecognized
// when raw is none of the accepted shapes, and ErrInvalid when it is one but
// cannot be used.
func Parse(raw []byte) (*Input, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: empty payload: %s", ErrUnrecognized, expectedShapes)
	}
	if !json.Valid(trimmed) {
		return nil, fmt.Errorf("%w: payload is not JSON: %s", ErrUnrecognized, expectedShapes)
	}
	if trimmed[0] != '{' {
		return nil, fmt.Errorf("%w: payload is a JSON %s, not an object: %s", ErrUnrecognized, jsonKind(trimmed[0]), expectedShapes)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &top); err != nil {
		return nil, fmt.Errorf("%w: decoding payload: %v", ErrUnrecognized, err)
	}
	if len(top) == 0 {
		return nil, fmt.Errorf("%w: payload is an empty object: %s", ErrUnrecognized, expectedShapes)
	}
	if hasAny(top, "source", "detail-type", "detail") {
		return parseEvent(trimmed, top)
	}
	if _, ok := top["sweep"]; ok {
		return parseSweep(trimmed)
	}
	req, err := parseRequest(trimmed)
	if err != nil {
		return nil, err
	}
	return &Input{Source: SourceManual, Manual: req}, nil
}

func parseEvent(raw []byte, top map[string]json.RawMessage) (*Input, error) {
	var env Envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("%w: decoding EventBridge envelope: %v", ErrUnrecognized, err)
	}
	detail := top["detail"]
	switch env.Source {
	case EventSourceGuardDuty:
		in := &Input{Source: SourceGuardDuty, Envelope: env}
		// Other GuardDuty event types share the source; their detail is not a
		// finding, so it is left alone and the policy ignores them.
		if env.DetailType != DetailTypeFinding {
			return in, nil
		}
		if isNull(detail) {
			return nil, fmt.Errorf("%w: %q event has no detail", ErrInvalid, DetailTypeFinding)
		}
		f, err := decodeFinding(detail)
		if err != nil {
			return nil, fmt.Errorf("%w: decoding GuardDuty finding: %v", ErrInvalid, err)
		}
		if f.Type == "" {
			return nil, fmt.Errorf("%w: GuardDuty finding has no type: detail must be ONE finding with camelCase keys", ErrInvalid)
		}
		in.Finding = f
		return in, nil
	case EventSourceSecurityHub:
		if slices.ContainsFunc(env.Resources, isReleaseAction) {
			return nil, fmt.Errorf("%w: this is the Security Hub release action: it goes to the release function, never the contain function", ErrUnrecognized)
		}
		return parseSecurityHub(env, detail)
	case "":
		return nil, fmt.Errorf("%w: EventBridge event has no source: %s", ErrUnrecognized, expectedShapes)
	default:
		return nil, fmt.Errorf("%w: unsupported event source %q: %s", ErrUnrecognized, env.Source, expectedShapes)
	}
}

// InstanceID is the instance the input is about: the manual request's, the
// finding's, or the first Security Hub target.
func (in *Input) InstanceID() string {
	switch {
	case in == nil:
		return ""
	case in.Manual != nil:
		return in.Manual.InstanceID
	case in.Source == SourceSecurityHub:
		if len(in.Targets) > 0 {
			return in.Targets[0]
		}
		return ""
	default:
		return in.Finding.InstanceID()
	}
}

// AccountID is the account that owns the resource: the finding's accountId
// (a member account under a delegated administrator), else the envelope's.
// Empty for a manual request that does not name one.
func (in *Input) AccountID() string {
	switch {
	case in == nil:
		return ""
	case in.Manual != nil:
		return in.Manual.AccountID
	case in.SecurityHub != nil:
		if f := in.SecurityHub.firstWithTargets(); f != nil && f.AccountID != "" {
			return f.AccountID
		}
	case in.Finding != nil && in.Finding.AccountID != "":
		return in.Finding.AccountID
	}
	return in.Envelope.Account
}

// Region is the Region of the resource, chosen like AccountID.
func (in *Input) Region() string {
	switch {
	case in == nil:
		return ""
	case in.Manual != nil:
		return in.Manual.Region
	case in.SecurityHub != nil:
		if f := in.SecurityHub.firstWithTargets(); f != nil && f.Region != "" {
			return f.Region
		}
	case in.Finding != nil && in.Finding.Region != "":
		return in.Finding.Region
	}
	return in.Envelope.Region
}

// IsSample reports whether the input comes from a GuardDuty sample finding,
// directly or through Security Hub.
func (in *Input) IsSample() bool {
	if in == nil {
		return false
	}
	if in.Finding.IsSample() {
		return true
	}
	return in.SecurityHub != nil && slices.ContainsFunc(in.SecurityHub.Findings, func(f SecurityHubFinding) bool { return f.Sample })
}

// DryRun reports whether a person asked for a dry run. Events are never dry
// runs here; the handler's own configuration may still make them one.
func (in *Input) DryRun() bool {
	return in != nil && in.Manual != nil && in.Manual.DryRun
}

func hasAny(m map[string]json.RawMessage, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

func isNull(b json.RawMessage) bool {
	b = bytes.TrimSpace(b)
	return len(b) == 0 || string(b) == "null"
}

func jsonKind(first byte) string {
	switch first {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}
