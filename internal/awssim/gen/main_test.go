package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedTableIsCurrent regenerates the wire table from the SDK in
// the module cache: a stale table means an SDK upgrade changed wire names
// and `go generate ./internal/awssim` must be run.
func TestCommittedTableIsCurrent(t *testing.T) {
	out := filepath.Join(t.TempDir(), "wire_gen.go")
	if err := run(out); err != nil {
		t.Fatalf("generating: %v", err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "wire_gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("internal/awssim/wire_gen.go is stale: run go generate ./internal/awssim")
	}
}
