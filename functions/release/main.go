// Command release is the Firebreak release Lambda: it undoes a containment
// from its verified evidence when a person asks. It only wires: read the
// configuration, build the AWS clients once, start the runtime.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/firebreak-ir/firebreak/internal/awsclient"
	"github.com/firebreak-ir/firebreak/internal/config"
	"github.com/firebreak-ir/firebreak/internal/gctune"
	"github.com/firebreak-ir/firebreak/internal/handler"
	"github.com/firebreak-ir/firebreak/internal/metrics"
)

func main() {
	log := lambdacontext.NewLogger()
	log.Debug("memory", "gc", gctune.ForLambda(os.Getenv))
	cfg, err := config.ReleaseFromEnv(os.Getenv)
	if err != nil {
		log.Error("refusing to start", "error", err)
		os.Exit(1)
	}
	clients, err := awsclient.Load(context.Background(), cfg.AccountID, awsclient.WithMembers(awsclient.MembersOf(cfg, "firebreak-release")))
	if err != nil {
		log.Error("refusing to start", "error", err)
		os.Exit(1)
	}
	lambda.Start(handler.Invoker(handler.NewRelease(cfg, clients, log, handler.WithMetrics(metrics.Lambda())).Handle))
}
