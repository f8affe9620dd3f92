// Command demo runs Firebreak's handler on sample events against an in-memory
// AWS (make demo EVENT="a.json b.json" FORMAT=json).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

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
	if *mode != "inprocess" {
		fmt.Fprintf(os.Stderr, "demo: unknown mode %q\n", *mode)
		os.Exit(2)
	}
	if err := demo.Run(context.Background(), flag.Args(), *format, os.Stdout, log); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}
