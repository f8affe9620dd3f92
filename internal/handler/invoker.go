package handler

import (
	"context"
	"encoding/json"

	"github.com/firebreak-ir/firebreak/internal/report"
)

// Invoker adapts a handler to the Lambda runtime (lambda.Handler). It hands
// the payload's bytes to the handler untouched, so a payload that is not JSON
// gets Firebreak's own message, not the runtime's "unexpected EOF"; it
// answers one report, or an array when an action named several instances.
type Invoker func(context.Context, json.RawMessage) ([]*report.Report, error)

// Invoke implements lambda.Handler.
func (h Invoker) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	reports, err := h(ctx, payload)
	if err != nil {
		return nil, err
	}
	if len(reports) == 1 {
		return json.Marshal(reports[0])
	}
	return json.Marshal(reports)
}
