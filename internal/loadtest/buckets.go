package loadtest

import (
	"sort"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/internal/awssim"
)

// Bucket is one of EC2's request-rate token buckets (aws-facts.md section 5),
// as the simulator enforces them.
type Bucket struct {
	Name      string
	Size      float64
	PerSecond float64
}

// ec2BucketOf sorts an EC2 action into its bucket. The runbook always
// names the instance in DescribeInstances, so the "unfiltered
// DescribeInstances" bucket never applies.
func ec2BucketOf(action string) Bucket {
	switch {
	case strings.HasPrefix(action, "Describe"), strings.HasPrefix(action, "Get"):
		return Bucket{"non-mutating", 100, 20}
	case action == "ModifyNetworkInterfaceAttribute", action == "CreateSnapshot", action == "CreateSnapshots":
		return Bucket{action, 100, 5}
	case action == "CreateTags":
		return Bucket{action, 100, 10}
	default:
		return Bucket{"mutating", 50, 5}
	}
}

// BucketUse is what a run drew from one bucket.
type BucketUse struct {
	Bucket
	// Tokens counts requests that passed the bucket: every attempt that was
	// not throttled and not failed by an injected fault before the bucket.
	Tokens int
	// Throttled counts attempts refused (by the bucket or a random throttle).
	Throttled int
	// Wait is the least time the bucket needs to hand out Tokens when it
	// starts full: (Tokens - Size) / refill rate, in simulated time.
	Wait time.Duration
}

// BucketUses groups a run's EC2 requests by bucket, fullest wait first.
func BucketUses(st awssim.Stats) []BucketUse {
	by := map[string]*BucketUse{}
	for key, op := range st {
		action, ok := strings.CutPrefix(key, "ec2:")
		if !ok {
			continue
		}
		b := ec2BucketOf(action)
		u := by[b.Name]
		if u == nil {
			u = &BucketUse{Bucket: b}
			by[b.Name] = u
		}
		u.Tokens += op.Attempts - op.Throttled - op.Faults
		u.Throttled += op.Throttled
	}
	out := make([]BucketUse, 0, len(by))
	for _, u := range by {
		if excess := float64(u.Tokens) - u.Size; excess > 0 {
			u.Wait = time.Duration(excess / u.PerSecond * float64(time.Second))
		}
		out = append(out, *u)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Wait != out[j].Wait {
			return out[i].Wait > out[j].Wait
		}
		return out[i].Name < out[j].Name
	})
	return out
}
