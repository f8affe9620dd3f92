package awsfake

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
)

// Organization is several accounts of fake AWS, one World each (each World
// stays one account and Region). It is what credentials resolve against:
// access key ids name a principal of one account, STS AssumeRole hands out
// keys scoped to the role's account, and every request signed with a key
// acts on that account's World only.
type Organization struct {
	id string

	mu     sync.Mutex
	worlds map[string]*World
	keys   map[string]credential
	seq    int
}

type credential struct {
	p       Principal
	expires time.Time // zero: a long-term key
}

// NewOrganization returns an organization (id o-...) of the given worlds.
// A World belongs to at most one organization.
func NewOrganization(id string, worlds ...*World) *Organization {
	o := &Organization{id: id, worlds: map[string]*World{}, keys: map[string]credential{}}
	for _, w := range worlds {
		o.Add(w)
	}
	return o
}

// Add puts an account's World in the organization.
func (o *Organization) Add(w *World) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, dup := o.worlds[w.Account()]; dup {
		panic(fmt.Sprintf("awsfake: account %s is already in the organization", w.Account()))
	}
	w.mu.Lock()
	if w.org != nil {
		w.mu.Unlock()
		panic(fmt.Sprintf("awsfake: account %s is already in an organization", w.Account()))
	}
	w.org = o
	w.mu.Unlock()
	o.worlds[w.Account()] = w
}

// ID is the organization's id.
func (o *Organization) ID() string { return o.id }

// World is an account's World, or nil.
func (o *Organization) World(account string) *World {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.worlds[account]
}

// Accounts lists the organization's accounts, sorted.
func (o *Organization) Accounts() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]string, 0, len(o.worlds))
	for a := range o.worlds {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// AddAccessKey registers a long-term access key id for a principal, such as
// the function role's credentials a test hands the function.
func (o *Organization) AddAccessKey(accessKeyID string, p Principal) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.keys[accessKeyID] = credential{p: p}
}

// Caller names the principal an access key belongs to. An unknown key is
// refused with InvalidClientTokenId, an expired one with ExpiredToken, as
// AWS refuses them before any operation runs.
func (o *Organization) Caller(accessKeyID string) (Principal, error) {
	o.mu.Lock()
	c, ok := o.keys[accessKeyID]
	w := o.worlds[c.p.Account]
	o.mu.Unlock()
	switch {
	case !ok || w == nil:
		return Principal{}, apiError("InvalidClientTokenId", "The security token included in the request is invalid.")
	case !c.expires.IsZero() && !w.Now().Before(c.expires):
		return Principal{}, apiError("ExpiredToken", "The security token included in the request is expired")
	}
	return c.p, nil
}

// Principal is Caller with the account and session ARN apart, the form the
// wire simulator routes by (awssim.Directory).
func (o *Organization) Principal(accessKeyID string) (account, principal string, err error) {
	p, err := o.Caller(accessKeyID)
	if err != nil {
		return "", "", err
	}
	return p.Account, p.ARN(), nil
}

// Clients are an account's clients (awssim.Directory).
func (o *Organization) Clients(account string) awsapi.Clients { return o.World(account).Clients() }

// STSFor is STS as called by the principal holding a session ARN
// (awssim.Directory); the principal must be one Caller returned.
func (o *Organization) STSFor(account, principal string) awsapi.STS {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.keys {
		if c.p.Account == account && c.p.ARN() == principal {
			return &STS{w: o.worlds[account], caller: c.p}
		}
	}
	panic(fmt.Sprintf("awsfake: no credentials for %s in %s", principal, account))
}

// Session is one set of temporary credentials STS handed out.
type Session struct {
	Principal Principal
	Expires   time.Time
}

// Sessions lists the temporary credentials issued so far, in order.
func (o *Organization) Sessions() []Session {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []Session
	for i := 1; i <= o.seq; i++ {
		c := o.keys[sessionKey(i)]
		out = append(out, Session{Principal: c.p, Expires: c.expires})
	}
	return out
}

func sessionKey(seq int) string { return fmt.Sprintf("ASIAFAKE%012d", seq) }

// issue mints a temporary access key for a principal.
func (o *Organization) issue(p Principal, expires time.Time) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seq++
	key := sessionKey(o.seq)
	o.keys[key] = credential{p: p, expires: expires}
	return key
}

// accountWorld is the World of an account the world's STS can reach: its
// own, or another of its organization.
func (w *World) accountWorld(account string) *World {
	if account == w.account {
		return w
	}
	if org := w.organization(); org != nil {
		return org.World(account)
	}
	return nil
}

// orgID is the id of the organization an account belongs to, as
// aws:PrincipalOrgID sees it ("" for none).
func (w *World) orgID(account string) string {
	org := w.organization()
	if org == nil || org.World(account) == nil {
		return ""
	}
	return org.id
}

// issue mints credentials through the organization; a world outside any
// has no one to honour them, so they are only shaped like keys.
func (w *World) issue(p Principal, expires time.Time) string {
	if org := w.organization(); org != nil {
		return org.issue(p, expires)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	return sessionKey(int(w.seq))
}

func (w *World) organization() *Organization {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.org
}
