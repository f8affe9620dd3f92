// Command contain is the Firebreak containment Lambda. It only wires: read the
// configuration, build the AWS clients once, start the runtime.
package main

import (
	"context"
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
	lambda.Start(handler.Invoker(handler.New(cfg, clients, log).Handle))
}
