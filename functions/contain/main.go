// Command contain is the Firebreak containment Lambda. It only wires: read the
// configuration, build the AWS clients once, start the runtime.
package main

import (
	"context"
	"encoding/json"
	"fmt"
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
	h := handler.New(cfg, clients, log)
	lambda.Start(func(ctx context.Context, raw json.RawMessage) (any, error) {
		reports, err := h.Handle(ctx, raw)
		if len(reports) == 1 {
			return reports[0], err
		}
		if err != nil && len(reports) == 0 {
			return nil, fmt.Errorf("firebreak: %w", err)
		}
		return reports, err
	})
}
