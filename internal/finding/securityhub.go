package finding

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// CustomAction is a Security Hub custom action: an analyst selected findings
// in the console and sent them to Firebreak.
type CustomAction struct {
	ActionName        string               `json:"actionName,omitempty"`
	ActionDescription string               `json:"actionDescription,omitempty"`
	Findings          []SecurityHubFinding `json:"findings,omitempty"`
}

// SecurityHubFinding is what Firebreak keeps of one ASFF finding.
type SecurityHubFinding struct {
	ID         string `json:"id"`
	ProductArn string `json:"productArn,omitempty"`
	AccountID  string `json:"accountId,omitempty"`
	Region     string `json:"region,omitempty"`
	Title      string `json:"title,omitempty"`
	// Sample is set by ASFF Sample or, for GuardDuty, additionalInfo/sample.
	// FromGuardDuty is set when ProductArn or ProductFields show the finding
	// came from GuardDuty; the GuardDuty fields below are only set then.
	FromGuardDuty bool    `json:"fromGuardDuty,omitempty"`
	GuardDutyID   string  `json:"guardDutyId,omitempty"`
	GuardDutyType string  `json:"guardDutyType,omitempty"`
	Severity      float64 `json:"severity,omitempty"`
	ResourceRole  string  `json:"resourceRole,omitempty"`
	Sample        bool    `json:"sample,omitempty"`
	// Instances are the well-formed instance ids of its AwsEc2Instance resources.
	Instances []string `json:"instances,omitempty"`
	// Malformed are AwsEc2Instance resource ids that do not hold a valid id.
	Malformed []string `json:"malformed,omitempty"`
}

func (a *CustomAction) firstWithTargets() *SecurityHubFinding {
	for i := range a.Findings {
		if len(a.Findings[i].Instances) > 0 {
			return &a.Findings[i]
		}
	}
	return nil
}

// asff is the subset of the AWS Security Finding Format read here.
type asff struct {
	ID            string                     `json:"Id"`
	ProductArn    string                     `json:"ProductArn"`
	ProductName   string                     `json:"ProductName"`
	AwsAccountID  string                     `json:"AwsAccountId"`
	Region        string                     `json:"Region"`
	Types         []string                   `json:"Types"`
	Title         string                     `json:"Title"`
	Sample        bool                       `json:"Sample"`
	ProductFields map[string]json.RawMessage `json:"ProductFields"`
	Severity      *struct {
		Product    *float64 `json:"Product"`
		Normalized *float64 `json:"Normalized"`
		Label      string   `json:"Label"`
	} `json:"Severity"`
	FindingProviderFields *struct {
		Severity *struct {
			Label    string `json:"Label"`
			Original string `json:"Original"`
		} `json:"Severity"`
		Types []string `json:"Types"`
	} `json:"FindingProviderFields"`
	Resources []struct {
		Type   string `json:"Type"`
		ID     string `json:"Id"`
		Region string `json:"Region"`
	} `json:"Resources"`
}

func parseSecurityHub(env Envelope, detail json.RawMessage) (*Input, error) {
	in := &Input{Source: SourceSecurityHub, Envelope: env}
	var d struct {
		ActionName        string            `json:"actionName"`
		ActionDescription string            `json:"actionDescription"`
		Findings          []json.RawMessage `json:"findings"`
	}
	var err error
	if isNull(detail) {
		err = errors.New("no detail")
	} else {
		err = json.Unmarshal(detail, &d)
	}
	if err != nil {
		// Only a custom action is acted on; other Security Hub events are
		// kept as they are for the policy to ignore.
		if env.DetailType != DetailTypeCustomAction {
			return in, nil
		}
		return nil, fmt.Errorf("%w: decoding Security Hub custom action detail: %v", ErrInvalid, err)
	}
	action := &CustomAction{ActionName: d.ActionName, ActionDescription: d.ActionDescription}
	seen := map[string]bool{}
	for i, raw := range d.Findings {
		var a asff
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fmt.Errorf("%w: decoding Security Hub finding %d: %v", ErrInvalid, i, err)
		}
		f := summarise(a, env)
		for _, id := range f.Instances {
			if !seen[id] {
				seen[id] = true
				in.Targets = append(in.Targets, id)
			}
		}
		action.Findings = append(action.Findings, f)
	}
	in.SecurityHub = action
	in.Finding = guardDutyFinding(action)
	return in, nil
}

func summarise(a asff, env Envelope) SecurityHubFinding {
	f := SecurityHubFinding{
		ID:         a.ID,
		ProductArn: a.ProductArn,
		AccountID:  a.AwsAccountID,
		Region:     a.Region,
		Title:      a.Title,
		Sample:     a.Sample,
	}
	for _, r := range a.Resources {
		if r.Type != "AwsEc2Instance" {
			continue
		}
		id, ok := instanceIDFrom(r.ID)
		if !ok || !ValidInstanceID(id) {
			f.Malformed = append(f.Malformed, r.ID)
			continue
		}
		f.Instances = append(f.Instances, id)
		// Older findings carry no top-level Region: the ARN or the resource says.
		account, region := arnAccountRegion(r.ID)
		if f.Region == "" {
			f.Region = firstNonEmpty(r.Region, region)
		}
		if f.AccountID == "" {
			f.AccountID = account
		}
	}
	if f.AccountID == "" {
		f.AccountID = env.Account
	}
	if f.Region == "" {
		f.Region = env.Region
	}
	f.FromGuardDuty = strings.HasSuffix(a.ProductArn, ":product/aws/guardduty") ||
		a.ProductName == "GuardDuty" || productField(a, "aws/securityhub/ProductName") == "GuardDuty"
	if !f.FromGuardDuty {
		f.Severity = severityNormalized(a)
		return f
	}
	f.GuardDutyID = guardDutyID(a.ID)
	f.GuardDutyType = guardDutyType(a)
	f.Severity = guardDutySeverity(a)
	f.ResourceRole = strings.ToUpper(guardDutyField(a, "resourceRole"))
	f.Sample = f.Sample || strings.EqualFold(guardDutyField(a, "additionalInfo/sample"), "true")
	return f
}

// guardDutySeverity picks GuardDuty's own number: Severity.Product (what
// GuardDuty sends), else FindingProviderFields.Severity.Original when it is
// numeric, else Severity.Normalized/10 (GuardDuty normalises 8.0 to 80).
func guardDutySeverity(a asff) float64 {
	if a.Severity != nil && a.Severity.Product != nil {
		return *a.Severity.Product
	}
	if p := a.FindingProviderFields; p != nil && p.Severity != nil {
		if v, err := strconv.ParseFloat(strings.TrimSpace(p.Severity.Original), 64); err == nil {
			return v
		}
	}
	return severityNormalized(a)
}

func severityNormalized(a asff) float64 {
	if a.Severity != nil && a.Severity.Normalized != nil {
		return *a.Severity.Normalized / 10
	}
	return 0
}

// guardDutyID is the last path element of a GuardDuty finding ARN
// (arn:aws:guardduty:<region>:<account>:detector/<d>/finding/<id>).
func guardDutyID(asffID string) string {
	if i := strings.LastIndex(asffID, "/finding/"); i >= 0 {
		return asffID[i+len("/finding/"):]
	}
	return ""
}

// guardDutyType recovers "Backdoor:EC2/C&CActivity.B" from an ASFF type such as
// "TTPs/Command and Control/Backdoor:EC2-C&CActivity.B": Security Hub replaces
// the slash after the resource type with a dash.
func guardDutyType(a asff) string {
	types := a.Types
	if len(types) == 0 && a.FindingProviderFields != nil {
		types = a.FindingProviderFields.Types
	}
	for _, t := range types {
		colon := strings.Index(t, ":")
		if colon <= 0 {
			continue
		}
		start := strings.LastIndex(t[:colon], "/") + 1
		purpose, rest := t[start:colon], t[colon+1:]
		if strings.Contains(rest, "/") {
			return t[start:]
		}
		resource, name, ok := strings.Cut(rest, "-")
		if purpose == "" || !ok || resource == "" || name == "" {
			continue
		}
		return purpose + ":" + resource + "/" + name
	}
	return ""
}

func productField(a asff, key string) string {
	v, ok := a.ProductFields[key]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}

// guardDutyField reads a GuardDuty service field from ProductFields: keys
// are "aws/guardduty/service/<name>" today and were bare "<name>" in older
// findings.
func guardDutyField(a asff, name string) string {
	for _, key := range []string{"aws/guardduty/service/" + name, "service/" + name, name} {
		if v := productField(a, key); v != "" {
			return v
		}
	}
	return ""
}

// guardDutyFinding summarises the first GuardDuty finding that names an
// instance (else the first GuardDuty finding) for the report.
func guardDutyFinding(action *CustomAction) *Finding {
	var src *SecurityHubFinding
	for i := range action.Findings {
		f := &action.Findings[i]
		if !f.FromGuardDuty {
			continue
		}
		if src == nil || (len(src.Instances) == 0 && len(f.Instances) > 0) {
			src = f
		}
	}
	if src == nil {
		return nil
	}
	return summary(src)
}

func summary(src *SecurityHubFinding) *Finding {
	out := &Finding{
		ID:        src.GuardDutyID,
		Type:      src.GuardDutyType,
		Severity:  src.Severity,
		AccountID: src.AccountID,
		Region:    src.Region,
		Title:     src.Title,
		Service:   Service{ResourceRole: src.ResourceRole},
	}
	if len(src.Instances) > 0 {
		out.Resource = Resource{ResourceType: "Instance", InstanceDetails: &InstanceDetails{InstanceID: src.Instances[0]}}
	}
	if src.Sample {
		_ = out.Service.AdditionalInfo.UnmarshalJSON([]byte(`{"sample":true}`))
	}
	return out
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// ScopeOf is the account and Region of the instance the input names: for a
// Security Hub action, those of the finding that names it (one action may
// span several member accounts and Regions); otherwise AccountID and Region.
func (in *Input) ScopeOf(instanceID string) (account, region string) {
	if in != nil && in.SecurityHub != nil {
		for _, f := range in.SecurityHub.Findings {
			if slices.Contains(f.Instances, instanceID) {
				return firstNonEmpty(f.AccountID, in.AccountID()), firstNonEmpty(f.Region, in.Region())
			}
		}
	}
	return in.AccountID(), in.Region()
}

// FindingOf is the GuardDuty finding about an instance the input names:
// for a Security Hub action, that of the GuardDuty finding naming it, so
// that each instance's report and tags carry its own finding.
func (in *Input) FindingOf(instanceID string) *Finding {
	if in != nil && in.SecurityHub != nil {
		for i := range in.SecurityHub.Findings {
			if f := &in.SecurityHub.Findings[i]; f.FromGuardDuty && slices.Contains(f.Instances, instanceID) {
				return summary(f)
			}
		}
	}
	if in == nil {
		return nil
	}
	return in.Finding
}
