// Command release is the Firebreak release Lambda: it undoes a containment
// from its verified evidence when a person asks. It only wires: read the
// configuration, build the AWS clients once, start the runtime.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/firebreak-ir/firebreak/internal/awsclient"
	"github.com/firebreak-ir/firebreak/internal/config"
	"github.com/firebreak-ir/firebreak/internal/handler"
)

func main() {
	log := lambdacontext.NewLogger()
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		log.Error("refusing to start", "error", err)
		os.Exit(1)
	}
	clients, err := awsclient.Load(context.Background(), cfg.AccountID)
	if err != nil {
		log.Error("refusing to start", "error", err)
		os.Exit(1)
	}
	lambda.Start(raw{handler.NewRelease(cfg, clients, log)})
}

// raw hands the payload's bytes to the handler untouched, so a payload that
// is not JSON gets Firebreak's own message, not the runtime's.
type raw struct{ h *handler.Release }

func (r raw) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	reports, err := r.h.Handle(ctx, payload)
	if err != nil {
		return nil, err
	}
	if len(reports) == 1 {
		return json.Marshal(reports[0])
	}
	return json.Marshal(reports)
}
