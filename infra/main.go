// Command infra is Firebreak's CDK app: `make synth` and `make deploy` run it
// through the CDK CLI (see cdk.json).
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/firebreak-ir/firebreak/infra/stack"
)

func main() {
	err := run()
	// jsii.Close stops the node child; os.Exit would skip a deferred call.
	jsii.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "firebreak:", err)
		os.Exit(1)
	}
}

func run() (err error) {
	// A failed local build panics inside a jsii callback and comes back here
	// as a panic: report it as the error it is.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("synthesizing: %v", r)
		}
	}()
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	app := awscdk.NewApp(nil)
	if _, _, err := stack.Build(app, filepath.Join(root, "functions", "contain")); err != nil {
		return err
	}
	app.Synth(nil)
	return nil
}

// moduleRoot finds the directory holding go.mod, upwards from the working
// directory: the CLI runs the app from the repository root, `go run` may not.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run the app from the repository")
		}
		dir = parent
	}
}
