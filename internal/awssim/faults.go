package awssim

import (
	"math/rand/v2"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// Operation patterns name operations as "<service>:<Action>", with the
// service as in Stats keys (ec2, autoscaling, elasticloadbalancing,
// elasticloadbalancingv2, sns, sts, s3), and may use path.Match globs:
// "ec2:DescribeInstances", "ec2:Describe*", "*".

// OpStats counts what one operation saw.
type OpStats struct {
	// Calls counts SDK invocations: requests whose amz-sdk-request header
	// says attempt 1 (or that carry no such header).
	Calls int
	// Attempts counts every HTTP request, retries included.
	Attempts int
	// Throttled counts requests answered with a throttling error, from a
	// token bucket or the random throttle rate.
	Throttled int
	// Faults counts injected server errors and one-off errors.
	Faults int
	// Errors counts errors returned by the backend (AWS-side refusals such
	// as InvalidInstanceID.NotFound or DryRunOperation).
	Errors int
}

func (o *OpStats) add(x OpStats) {
	o.Calls += x.Calls
	o.Attempts += x.Attempts
	o.Throttled += x.Throttled
	o.Faults += x.Faults
	o.Errors += x.Errors
}

// Stats maps "<service>:<Action>" to its counters.
type Stats map[string]OpStats

// Total sums every operation's counters.
func (s Stats) Total() OpStats {
	var t OpStats
	for _, o := range s {
		t.add(o)
	}
	return t
}

// Keys lists the operations seen, sorted.
func (s Stats) Keys() []string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type latencyRule struct {
	pattern  string
	min, max time.Duration
}

type rateRule struct {
	pattern string
	rate    float64
}

type failRule struct {
	pattern string
	left    int
	code    string
}

// faults holds the fault-injection rules and counters. For latency and
// rates, the last rule set for a matching pattern wins.
type faults struct {
	mu       sync.Mutex
	rng      *rand.Rand
	latency  []latencyRule
	throttle []rateRule
	server   []rateRule
	lost     []rateRule
	next     []failRule
	buckets  *bucketSet
	stats    map[string]*OpStats
	// byAccount holds the same counters per account when requests are
	// routed by a Directory.
	byAccount map[string]map[string]*OpStats
	now       func() time.Time
}

func newFaults(seed uint64) *faults {
	return &faults{
		rng:       rand.New(rand.NewPCG(seed, seed^0x5eed)),
		stats:     map[string]*OpStats{},
		byAccount: map[string]map[string]*OpStats{},
		now:       time.Now,
	}
}

func matches(pattern, key string) bool {
	ok, err := path.Match(pattern, key)
	return err == nil && ok
}

// verdict is what the fault layer decided for one request.
type verdict struct {
	delay     time.Duration
	err       *apiError
	throttled bool
	// lose asks for the backend's answer to be replaced by a 500 after the
	// call ran: the client cannot tell whether it took effect.
	lose bool
}

// decide applies the rules to one request of op in account ("" without a
// Directory) and counts it.
func (f *faults) decide(op *operation, form url.Values, account string, attempt int) verdict {
	f.mu.Lock()
	defer f.mu.Unlock()

	st := &OpStats{Attempts: 1}
	if attempt <= 1 {
		st.Calls = 1
	}
	defer func() {
		f.stat(op.key).add(*st)
		if account != "" {
			f.accountStat(account, op.key).add(*st)
		}
	}()

	var v verdict
	for i := len(f.latency) - 1; i >= 0; i-- {
		if r := f.latency[i]; matches(r.pattern, op.key) {
			v.delay = r.min
			if r.max > r.min {
				v.delay += time.Duration(f.rng.Int64N(int64(r.max - r.min)))
			}
			break
		}
	}

	for i := range f.next {
		if r := &f.next[i]; r.left > 0 && matches(r.pattern, op.key) {
			r.left--
			e := op.svc.errorFor(r.code, "Injected fault: "+r.code)
			v.err = &e
			st.Faults++
			return v
		}
	}
	if p := lastRate(f.server, op.key); p > 0 && f.rng.Float64() < p {
		e := op.serverError(f.rng.IntN(2) == 0)
		v.err = &e
		st.Faults++
		return v
	}
	if p := lastRate(f.throttle, op.key); p > 0 && f.rng.Float64() < p {
		e := op.throttleError()
		v.err, v.throttled = &e, true
		st.Throttled++
		return v
	}
	if f.buckets != nil && op.svc.proto == ec2Query {
		if !f.buckets.take(account, ec2Bucket(op.name, form)) {
			e := op.throttleError()
			v.err, v.throttled = &e, true
			st.Throttled++
			return v
		}
	}
	if p := lastRate(f.lost, op.key); p > 0 && f.rng.Float64() < p {
		v.lose = true
		st.Faults++
	}
	return v
}

func lastRate(rules []rateRule, key string) float64 {
	for i := len(rules) - 1; i >= 0; i-- {
		if matches(rules[i].pattern, key) {
			return rules[i].rate
		}
	}
	return 0
}

func (f *faults) stat(key string) *OpStats {
	st := f.stats[key]
	if st == nil {
		st = &OpStats{}
		f.stats[key] = st
	}
	return st
}

func (f *faults) accountStat(account, key string) *OpStats {
	m := f.byAccount[account]
	if m == nil {
		m = map[string]*OpStats{}
		f.byAccount[account] = m
	}
	st := m[key]
	if st == nil {
		st = &OpStats{}
		m[key] = st
	}
	return st
}

func (f *faults) countError(account, key string) {
	f.mu.Lock()
	f.stat(key).Errors++
	if account != "" {
		f.accountStat(account, key).Errors++
	}
	f.mu.Unlock()
}

func (f *faults) snapshot() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return copyStats(f.stats)
}

func (f *faults) accountSnapshot(account string) Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return copyStats(f.byAccount[account])
}

func copyStats(m map[string]*OpStats) Stats {
	out := make(Stats, len(m))
	for k, v := range m {
		out[k] = *v
	}
	return out
}

// bucketSpec names an EC2 throttling bucket and its size and refill rate.
type bucketSpec struct {
	name            string
	size, perSecond float64
}

// ec2Bucket sorts an EC2 action into the token bucket AWS documents for it
// (request rate limits, aws-facts.md section 5).
func ec2Bucket(action string, form url.Values) bucketSpec {
	switch {
	case action == "DescribeInstances" && unfiltered(form):
		return bucketSpec{"unfiltered-describe-instances", 50, 10}
	case strings.HasPrefix(action, "Describe"), strings.HasPrefix(action, "Get"):
		return bucketSpec{"non-mutating", 100, 20}
	case action == "ModifyNetworkInterfaceAttribute", action == "CreateSnapshot", action == "CreateSnapshots":
		return bucketSpec{action, 100, 5}
	case action == "CreateTags":
		return bucketSpec{action, 100, 10}
	default:
		return bucketSpec{"mutating", 50, 5}
	}
}

// unfiltered reports a describe call with neither ids, filters nor paging.
func unfiltered(form url.Values) bool {
	for k := range form {
		if strings.HasPrefix(k, "InstanceId.") || strings.HasPrefix(k, "Filter.") || k == "MaxResults" || k == "NextToken" {
			return false
		}
	}
	return true
}

// bucketSet is a set of token buckets that start full and refill
// continuously; scale multiplies the refill rate so tests run fast.
type bucketSet struct {
	scale   float64
	now     func() time.Time
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newBucketSet(scale float64, now func() time.Time) *bucketSet {
	return &bucketSet{scale: scale, now: now, buckets: map[string]*bucket{}}
}

// take draws a token from an account's bucket ("" without a Directory).
func (s *bucketSet) take(account string, spec bucketSpec) bool {
	now := s.now()
	key := account + "/" + spec.name
	b := s.buckets[key]
	if b == nil {
		b = &bucket{tokens: spec.size, last: now}
		s.buckets[key] = b
	}
	b.tokens = min(spec.size, b.tokens+now.Sub(b.last).Seconds()*spec.perSecond*s.scale)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
