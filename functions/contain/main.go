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
	"github.com/firebreak-ir/firebreak/internal/gctune"
	"github.com/firebreak-ir/firebreak/internal/handler"
	"github.com/firebreak-ir/firebreak/internal/metrics"
)

func main() {
	log := lambdacontext.NewLogger()
	log.Debug("memory", "gc", gctune.ForLambda(os.Getenv))
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		log.Error("refusing to start", "error", err)
		os.Exit(1)
	}
	// One role session name for every case (CloudTrail in a member shows the
	// case in each request's User-Agent): credentials outlive cases.
	clients, err := awsclient.Load(context.Background(), cfg.AccountID, awsclient.WithMembers(awsclient.MembersOf(cfg, "firebreak-contain")))
	if err != nil {
		log.Error("refusing to start", "error", err)
		os.Exit(1)
	}
	lambda.Start(handler.Invoker(handler.New(cfg, clients, log, handler.WithMetrics(metrics.Lambda())).Handle))
}
