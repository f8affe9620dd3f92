package awsfake

import (
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Principal is who signs a request: a session of an IAM role in an account.
type Principal struct {
	Account string
	Role    string // the role's name
	Session string
	// SourceInstanceARN is set for credentials EC2 delivered to an instance
	// (the ec2:SourceInstanceARN condition key of their requests).
	SourceInstanceARN string
}

// RoleARN is the role's ARN, the value of aws:PrincipalArn for its sessions.
func (p Principal) RoleARN() string { return RoleARN(p.Account, p.Role) }

// ARN is the session's ARN, as GetCallerIdentity and error messages name it.
func (p Principal) ARN() string {
	return fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", p.Account, p.Role, p.Session)
}

// RoleARN is the ARN of a role in the commercial partition.
func RoleARN(account, name string) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", account, name)
}

// FunctionPrincipal is the identity a world's own calls carry unless a
// request says otherwise: the contain function's role session.
func FunctionPrincipal(account string) Principal {
	return Principal{Account: account, Role: "firebreak-contain", Session: "firebreak-contain"}
}

// Trust is a role's trust policy, reduced to what Firebreak's member role
// writes: a Principal of one account, narrowed by aws:PrincipalArn and
// aws:PrincipalOrgID conditions.
type Trust struct {
	// Account is the account whose principals may assume the role.
	Account string
	// PrincipalARNs, when not empty, are the only role ARNs of Account allowed.
	PrincipalARNs []string
	// OrgID, when set, requires the caller's account to belong to that organization.
	OrgID string
}

// DefaultMaxSession is a role's MaxSessionDuration unless set.
const DefaultMaxSession = time.Hour

type role struct {
	name       string
	arn        string
	id         string // AROA...: the principal id sessions of the role carry
	trust      Trust
	maxSession time.Duration
	tags       tags
	attached   []string // managed policy ARNs, in attachment order
}

var roleName = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

// AddRole creates an IAM role with a trust policy and returns its ARN.
func (w *World) AddRole(name string, trust Trust) string {
	if !roleName.MatchString(name) {
		panic(fmt.Sprintf("awsfake: bad role name %q", name))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	r := &role{name: name, arn: RoleARN(w.account, name), trust: trust, maxSession: DefaultMaxSession,
		tags: tags{}}
	r.id = nameID("AROA", r.arn)
	w.roles.put(name, r)
	return r.arn
}

// DeleteRole removes a role, as an account admin deleting the member stack would.
func (w *World) DeleteRole(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.roles.m, name)
	w.roles.order = slices.DeleteFunc(w.roles.order, func(n string) bool { return n == name })
}

func (w *World) role(name string) (role, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.roles.get(name)
	if !ok {
		return role{}, false
	}
	return *r, true
}

// trusts evaluates the trust policy for a caller whose account belongs to
// orgOf (an empty string when it belongs to none).
func (r role) trusts(caller Principal, callerOrg string) bool {
	if r.trust.Account != caller.Account {
		return false
	}
	if len(r.trust.PrincipalARNs) > 0 && !slices.Contains(r.trust.PrincipalARNs, caller.RoleARN()) {
		return false
	}
	return r.trust.OrgID == "" || r.trust.OrgID == callerOrg
}
