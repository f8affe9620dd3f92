package awsclient

import (
	"context"
	"net/http"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
)

type callsKey struct{}

// CountCalls returns a context under which every HTTP request the clients
// send to AWS (each attempt, retries included) adds one to the counter. The
// counting is in the clients' HTTP layer, so no client or call site changes.
func CountCalls(ctx context.Context) (context.Context, *atomic.Int64) {
	n := new(atomic.Int64)
	return context.WithValue(ctx, callsKey{}, n), n
}

// countingClient adds each request to the counter of its context, if any.
type countingClient struct{ next aws.HTTPClient }

func (c countingClient) Do(r *http.Request) (*http.Response, error) {
	if n, ok := r.Context().Value(callsKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
	return c.next.Do(r)
}
