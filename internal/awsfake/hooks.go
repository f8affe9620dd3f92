package awsfake

import (
	"context"
	"maps"
	"time"

	"github.com/aws/smithy-go"
)

// service names the AWS service an operation belongs to; it decides how an
// access denial is spelled, because each service has its own code for it.
type service string

const (
	svcEC2         service = "ec2"
	svcAutoScaling service = "autoscaling"
	svcELB         service = "elasticloadbalancing"
	svcSNS         service = "sns"
	svcS3          service = "s3"
	svcSTS         service = "sts"
	svcDynamoDB    service = "dynamodb"
	svcSecurityHub service = "securityhub"
	svcIAM         service = "iam"
)

// hooks are the test controls applied to every call before the model runs.
type hooks struct {
	calls      map[string]int
	failNext   map[string][]error
	failAlways map[string]string
	denied     map[string]bool
	latency    time.Duration
	observer   func(op string)
}

// FailNext makes the next call of op (e.g. "ModifyNetworkInterfaceAttribute")
// return err instead of running. Calls queue: two FailNext fail two calls.
func (w *World) FailNext(op string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hooks.failNext[op] = append(w.hooks.failNext[op], err)
}

// FailAlways makes every call of op fail with an AWS error of that code
// (e.g. "RequestLimitExceeded"); an empty code removes the fault.
func (w *World) FailAlways(op, code string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if code == "" {
		delete(w.hooks.failAlways, op)
		return
	}
	w.hooks.failAlways[op] = code
}

// Deny makes op fail as an IAM denial would: UnauthorizedOperation for EC2
// (DryRun included), AccessDenied for Auto Scaling, ELB, S3 and STS,
// AuthorizationError for SNS.
func (w *World) Deny(op string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hooks.denied[op] = true
}

// Allow lifts a Deny.
func (w *World) Allow(op string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.hooks.denied, op)
}

// SetLatency delays every call by d (for benchmarks); a cancelled context ends the wait.
func (w *World) SetLatency(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hooks.latency = d
}

// OnCall registers an observer told of every call's operation name before it
// runs. It is called without the world's lock, so it may use the world.
func (w *World) OnCall(fn func(op string)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.hooks.observer = fn
}

// Calls counts calls by operation name, failed ones included.
func (w *World) Calls() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.hooks.calls)
}

// ResetCalls zeroes the call counts.
func (w *World) ResetCalls() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.hooks.calls)
}

// begin applies the hooks: count, observe, wait, then injected faults and denials.
func (w *World) begin(ctx context.Context, svc service, op string) error {
	w.mu.Lock()
	w.hooks.calls[op]++
	observer, latency := w.hooks.observer, w.hooks.latency
	w.mu.Unlock()

	if observer != nil {
		observer(op)
	}
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	if q := w.hooks.failNext[op]; len(q) > 0 {
		w.hooks.failNext[op] = q[1:]
		return q[0]
	}
	if code, ok := w.hooks.failAlways[op]; ok {
		return injected(code)
	}
	if w.hooks.denied[op] {
		return w.denial(svc, op)
	}
	return nil
}

// call runs one operation's model under the lock after the hooks, treating a
// nil input as an empty one as the SDK does.
func call[I, O any](ctx context.Context, w *World, svc service, op string, in *I, body func(*I) (*O, error)) (*O, error) {
	if err := w.begin(ctx, svc, op); err != nil {
		return nil, err
	}
	if in == nil {
		in = new(I)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return body(in)
}

// injected builds the error for FailAlways, with AWS's wording for the codes
// tests inject most.
func injected(code string) error {
	msg, fault := "Injected failure.", smithy.FaultClient
	switch code {
	case "RequestLimitExceeded":
		msg = "Request limit exceeded."
	case "Throttling":
		msg = "Rate exceeded"
	case "ThrottlingException":
		// DynamoDB's wording for an on-demand table over its throughput.
		msg = "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly."
	case "ProvisionedThroughputExceededException":
		msg = "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."
	case "InternalError", "InternalFailure":
		msg, fault = "An internal error has occurred", smithy.FaultServer
	case "ServiceUnavailable", "Unavailable":
		msg, fault = "The service is unavailable. Please try again shortly.", smithy.FaultServer
	}
	return &smithy.GenericAPIError{Code: code, Message: msg, Fault: fault}
}
