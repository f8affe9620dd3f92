package awsclient

import (
	"context"
	"strings"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// CaseUserAgentKey prefixes the case id in the User-Agent of every request
// made for a case: CloudTrail records the User-Agent of each event
// (userAgent, up to 1 KB), so a member account's trail shows which case did
// what although every case shares one role session.
const CaseUserAgentKey = "firebreak-case"

type caseKey struct{}

// WithCase returns a context whose AWS requests carry the case id.
func WithCase(ctx context.Context, caseID string) context.Context {
	return context.WithValue(ctx, caseKey{}, caseID)
}

// CaseOf is the case id WithCase put in ctx ("" for none).
func CaseOf(ctx context.Context) string {
	id, _ := ctx.Value(caseKey{}).(string)
	return id
}

// addCaseToUserAgent appends "firebreak-case/<id>" to the User-Agent the
// SDK built, on every operation of every client.
func addCaseToUserAgent(stack *middleware.Stack) error {
	return stack.Build.Add(middleware.BuildMiddlewareFunc("FirebreakCaseUserAgent",
		func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
			if req, ok := in.Request.(*smithyhttp.Request); ok {
				if id := userAgentToken(CaseOf(ctx)); id != "" {
					ua := strings.TrimSpace(req.Header.Get("User-Agent") + " " + CaseUserAgentKey + "/" + id)
					req.Header.Set("User-Agent", ua)
				}
			}
			return next.HandleBuild(ctx, in)
		}), middleware.After)
}

// userAgentToken keeps what RFC 9110 allows in a product token and bounds
// it, so a hostile case id cannot break or flood the header.
func userAgentToken(s string) string {
	const max = 128
	var b strings.Builder
	for _, r := range s {
		if b.Len() == max {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("!#$%&'*+-.^_`|~", r):
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}
