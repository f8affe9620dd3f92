package awsfake_test

import (
	"errors"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
)

const (
	account  = "123456789012"
	region   = "us-east-1"
	victimID = "i-0abc123def4567890"
)

// demo returns a fresh demo world and its clients.
func demo(t *testing.T) (*awsfake.World, awsfake.Demo, awsapi.Clients) {
	t.Helper()
	w := awsfake.New(account, region)
	d := w.SeedDemo(victimID)
	return w, d, w.Clients()
}

// code is the AWS error code of err, "" for nil.
func code(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v (%T) is not an AWS API error", err, err)
	}
	return apiErr.ErrorCode()
}

// message is the AWS error message of err.
func message(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorMessage()
	}
	return ""
}

func wantCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := code(t, err); got != want {
		t.Fatalf("error code = %q (%v), want %q", got, err, want)
	}
}
