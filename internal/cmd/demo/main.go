// Command demo runs Firebreak's handler on sample events against an in-memory
// AWS (make demo EVENT="a.json b.json" FORMAT=json), in this process or, with
// -mode lambda, as the built bootstrap under the Lambda runtime emulator over
// the wire-level AWS simulator.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/firebreak-ir/firebreak/internal/demo"
)

func main() {
	format := flag.String("format", "text", "text or json (one report per line)")
	verbose := flag.Bool("v", false, "log every step to stderr")
	mode := flag.String("mode", "inprocess", "inprocess (the handler in this process) or lambda (the built bootstrap under the Lambda runtime emulator, over the AWS simulator)")
	flag.Parse()
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	var err error
	switch *mode {
	case "inprocess":
		err = demo.Run(context.Background(), flag.Args(), *format, os.Stdout, log)
	case "lambda":
		// The emulator runs in a process group of its own, out of reach of
		// the terminal's Ctrl-C: cancelling the context stops it.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		opts := demo.LambdaOptions{Status: os.Stderr}
		if *verbose {
			opts.FunctionOutput = os.Stderr
		}
		err = demo.RunLambda(ctx, flag.Args(), *format, os.Stdout, opts)
		stop()
	default:
		fmt.Fprintf(os.Stderr, "demo: unknown mode %q\n", *mode)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}
