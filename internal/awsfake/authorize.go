package awsfake

import (
	"encoding/json"
	"path"
	"strings"
)

// Authorize says whether a principal's request for action may proceed, as far
// as explicit denies in its role's attached customer managed policies decide:
// the fake models the deny Firebreak writes (Effect Deny, Action "*" or a
// list, Resource "*", a condition on ec2:SourceInstanceARN), not IAM's whole
// language. Everything else is allowed, as the instance's role would allow it.
func (w *World) Authorize(p Principal, action string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.roles.get(p.Role)
	if !ok || p.Account != w.account {
		return apiError("InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	for _, arn := range r.attached {
		pol, ok := w.policies.get(arn)
		if !ok {
			continue // AWS managed policies grant; they never deny here
		}
		if denies(pol.version(pol.defaultVersion).doc, p, action) {
			return apiError("AccessDenied", "User: %s is not authorized to perform: %s with an explicit deny in an identity-based policy: %s",
				p.ARN(), action, arn)
		}
	}
	return nil
}

type statement struct {
	Effect    string
	Action    stringList
	Resource  stringList
	Condition map[string]map[string]stringList
}

// stringList reads IAM's "a string or a list of strings".
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = []string{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(s))
}

func denies(doc string, p Principal, action string) bool {
	var d struct{ Statement []statement }
	if json.Unmarshal([]byte(doc), &d) != nil {
		return false
	}
	for _, st := range d.Statement {
		if st.Effect != "Deny" || !matchAny(st.Action, action, true) || !matchAny(st.Resource, "*", false) {
			continue
		}
		if conditionHolds(st.Condition, p) {
			return true
		}
	}
	return false
}

// conditionHolds evaluates the operators Firebreak writes; a key the request
// does not carry makes the condition false, as in IAM.
func conditionHolds(cond map[string]map[string]stringList, p Principal) bool {
	for op, keys := range cond {
		for key, values := range keys {
			if !strings.EqualFold(key, "ec2:SourceInstanceARN") || p.SourceInstanceARN == "" {
				return false
			}
			switch op {
			case "ArnEquals", "StringEquals":
				if !contains(values, p.SourceInstanceARN) {
					return false
				}
			case "ArnLike", "StringLike":
				if !matchAny(values, p.SourceInstanceARN, false) {
					return false
				}
			default:
				return false
			}
		}
	}
	return true
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// matchAny matches IAM wildcards (* and ?); actions compare without case.
func matchAny(patterns []string, v string, fold bool) bool {
	for _, pat := range patterns {
		a, b := pat, v
		if fold {
			a, b = strings.ToLower(a), strings.ToLower(b)
		}
		if pat == "*" {
			return true
		}
		if ok, _ := path.Match(a, b); ok {
			return true
		}
	}
	return false
}
