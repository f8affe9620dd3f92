// Package awsfake is a stateful, in-memory model of the parts of AWS that
// Firebreak touches. It implements every interface in internal/awsapi with the
// real SDK input and output types, keeps state between calls, generates ids the
// way AWS does and fails with the error codes AWS uses. Unit tests use it
// directly; the wire-level simulator (internal/awssim) decodes real requests and
// calls the same methods, so there is one model of AWS behaviour.
//
// Seeding methods (AddVPC, AddInstance, ...) panic on a bad seed: that is a bug
// in the test, not an AWS behaviour to model.
package awsfake

import (
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
)

// Epoch is where the fake clock starts, so timestamps in outputs and golden
// files do not depend on when the test runs.
var Epoch = time.Date(2026, time.January, 15, 9, 0, 0, 0, time.UTC)

// World is one account and Region of fake AWS. All state sits behind one mutex:
// calls from concurrent goroutines see a consistent world, as they would in AWS.
type World struct {
	mu      sync.Mutex
	account string
	region  string
	seq     uint64
	now     time.Time
	clock   func() time.Time

	hooks hooks

	naclEntryLimit    int
	snapshotRateLimit time.Duration

	vpcs       store[*vpc]
	subnets    store[*subnet]
	nacls      store[*nacl]
	groups     store[*secGroup]
	ruleGroup  map[string]string // security group rule id -> group id
	instances  store[*instance]
	enis       store[*eni]
	volumes    store[*volume]
	snapshots  store[*snapshot]
	asgs       store[*asg]
	classicLBs store[*classicLB]
	tgs        store[*targetGroup]
	topics     store[string]
	published  []Message
	buckets    store[string]
	objects    store[*Object]
	roles      store[*role]
	profiles   store[*instanceProfile] // by ARN
	policies   store[*managedPolicy]   // customer managed, by ARN

	managedPolicyQuota int
	// instanceKeys are access keys of instance sessions (InstanceAccessKey).
	instanceKeys map[string]Principal

	// org is the organization the world's account belongs to (nil: none);
	// STS reaches other accounts through it.
	org *Organization

	// versioning: the buckets that keep every version (as Object Lock
	// buckets do), and every version of each of their objects, oldest first.
	versioned map[string]bool
	versions  map[string][]*Object

	tables store[*table]
	hub    securityHub
}

// New returns an empty world for one account and Region.
func New(account, region string) *World {
	return &World{
		account:        account,
		region:         region,
		now:            Epoch,
		naclEntryLimit: 20,
		ruleGroup:      map[string]string{},
		hooks: hooks{
			calls:      map[string]int{},
			failNext:   map[string][]error{},
			failAlways: map[string]string{},
			denied:     map[string]bool{},
		},
	}
}

// Account is the world's account id.
func (w *World) Account() string { return w.account }

// Region is the world's Region.
func (w *World) Region() string { return w.region }

// Clients returns the per-service fakes behind the awsapi interfaces.
func (w *World) Clients() awsapi.Clients {
	return awsapi.Clients{
		EC2:         &EC2{w: w},
		AutoScaling: &AutoScaling{w: w},
		ELB:         &ELB{w: w},
		ELBV2:       &ELBV2{w: w},
		SNS:         &SNS{w: w},
		S3:          &S3{w: w},
		DynamoDB:    &DynamoDB{w: w},
		SecurityHub: &SecurityHub{w: w},
		IAM:         &IAM{w: w},
	}
}

// Compile-time proof that the fakes satisfy the interfaces the runbook uses.
var (
	_ awsapi.EC2         = (*EC2)(nil)
	_ awsapi.AutoScaling = (*AutoScaling)(nil)
	_ awsapi.ELB         = (*ELB)(nil)
	_ awsapi.ELBV2       = (*ELBV2)(nil)
	_ awsapi.SNS         = (*SNS)(nil)
	_ awsapi.S3          = (*S3)(nil)
	_ awsapi.DynamoDB    = (*DynamoDB)(nil)
	_ awsapi.STS         = (*STS)(nil)
	_ awsapi.SecurityHub = (*SecurityHub)(nil)
	_ awsapi.IAM         = (*IAM)(nil)
)

// STS returns the STS fake (awsapi.Clients has no STS field), called as
// the function's role (FunctionPrincipal).
func (w *World) STS() awsapi.STS { return &STS{w: w, caller: FunctionPrincipal(w.account)} }

// Now is the world's current time.
func (w *World) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.nowLocked()
}

func (w *World) nowLocked() time.Time {
	if w.clock != nil {
		return w.clock().UTC()
	}
	return w.now
}

// Advance moves the fake clock forward, e.g. past a snapshot rate limit or a
// target group's deregistration delay.
func (w *World) Advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = w.now.Add(d)
}

// SetClock replaces the fake clock (time.Now for a live demo); nil restores it.
func (w *World) SetClock(clock func() time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.clock = clock
}

// SetNetworkACLEntryLimit changes the entries-per-direction quota (default 20).
func (w *World) SetNetworkACLEntryLimit(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.naclEntryLimit = n
}

// SetSnapshotRateLimit makes a CreateSnapshots touching a volume snapshotted
// less than d ago fail with SnapshotCreationPerVolumeRateExceeded (0: off).
func (w *World) SetSnapshotRateLimit(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.snapshotRateLimit = d
}

// ReserveIDs skips n ids, so that the worlds of one organization, each
// given its own range, hand out ids unique across accounts as AWS does.
func (w *World) ReserveIDs(n uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq += n
}

// newID returns prefix-<17 hex digits>, unique and deterministic within the world.
func (w *World) newID(prefix string) string {
	w.seq++
	return fmt.Sprintf("%s-%017x", prefix, w.seq)
}

// newUUID returns a deterministic UUID-shaped id (message and activity ids).
func (w *World) newUUID() string {
	w.seq++
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", w.seq, w.seq)
}

// store keeps values by id in insertion order, so every listing is stable.
type store[T any] struct {
	m     map[string]T
	order []string
}

func (s *store[T]) put(id string, v T) {
	if s.m == nil {
		s.m = map[string]T{}
	}
	if _, ok := s.m[id]; !ok {
		s.order = append(s.order, id)
	}
	s.m[id] = v
}

func (s *store[T]) get(id string) (T, bool) {
	v, ok := s.m[id]
	return v, ok
}

func (s *store[T]) has(id string) bool {
	_, ok := s.m[id]
	return ok
}

func (s *store[T]) all() []T {
	out := make([]T, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.m[id])
	}
	return out
}

// tags is a resource's tag set; rendering sorts by key so outputs are stable.
type tags map[string]string

func tagsFrom(m map[string]string) tags {
	t := tags{}
	maps.Copy(t, m)
	return t
}
