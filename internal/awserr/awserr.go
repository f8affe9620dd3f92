// Package awserr reads AWS errors by their error code, the way a step decides
// what a failure means: not found, in use, throttled, a dry run that passed.
package awserr

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"
)

// Code is the AWS error code of err, or a short cause for other errors.
func Code(err error) string {
	var ae smithy.APIError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ae):
		return ae.ErrorCode()
	case errors.Is(err, context.DeadlineExceeded):
		return "Timeout"
	case errors.Is(err, context.Canceled):
		return "Canceled"
	default:
		return "Error"
	}
}

// Is reports whether err carries one of the codes.
func Is(err error, codes ...string) bool {
	c := Code(err)
	for _, want := range codes {
		if c == want {
			return true
		}
	}
	return false
}

// DryRunOK reads the answer to a call sent with EC2's DryRun flag:
// DryRunOperation means the real call would have been allowed.
func DryRunOK(err error) error {
	if Is(err, "DryRunOperation") {
		return nil
	}
	if err == nil {
		return errors.New("dry run was not honoured: the call succeeded")
	}
	return err
}

// Join keeps the first error for its code and every message for the human.
func Join(errs []error) error {
	var first error
	var msgs []string
	for _, e := range errs {
		if e == nil {
			continue
		}
		if first == nil {
			first = e
		}
		msgs = append(msgs, e.Error())
	}
	if first == nil {
		return nil
	}
	if len(msgs) == 1 {
		return first
	}
	return fmt.Errorf("%w (and: %s)", first, strings.Join(msgs[1:], "; "))
}

// Transient reports whether an error code is one a later retry can fix:
// throttling, server errors, timeouts.
func Transient(code string) bool {
	switch code {
	case "RequestLimitExceeded", "Throttling", "ThrottlingException", "RequestThrottled", "TooManyRequestsException",
		"SlowDown", "InternalError", "InternalFailure", "ServiceUnavailable", "Unavailable", "Timeout", "RequestTimeout":
		return true
	}
	return false
}
