package stack_test

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/firebreak-ir/firebreak/infra/stack"
)

// buildHello builds testdata/hello the way the stack builds the function.
func buildHello(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	b := &stack.GoBuild{Dir: filepath.Join("testdata", "hello")}
	if err := b.Build(out); err != nil {
		t.Fatalf("Build: %v", err)
	}
	return out
}

func TestGoBuildMakesAStrippedStaticArm64Bootstrap(t *testing.T) {
	out := buildHello(t)
	path := filepath.Join(out, "bootstrap")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no bootstrap in the output directory: %v", err)
	}
	if info.Mode().Perm()&0o100 == 0 {
		t.Errorf("bootstrap mode %v: Lambda needs it executable", info.Mode())
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("bootstrap is not an ELF executable: %v", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 {
		t.Errorf("machine %v, want arm64 for the arm64 function", f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("dynamically linked: provided.al2023 needs CGO_ENABLED=0")
		}
	}
	if f.Section(".symtab") != nil {
		t.Error("symbol table present: -ldflags \"-s -w\" was not applied")
	}
	if err := stack.CheckBootstrap(out); err != nil {
		t.Errorf("CheckBootstrap rejects a correct build: %v", err)
	}
}

func TestGoBuildIsReproducible(t *testing.T) {
	// The asset hash is taken from the build output: identical sources must
	// give identical bytes, or every synth would redeploy the function.
	first, err := os.ReadFile(filepath.Join(buildHello(t), "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(filepath.Join(buildHello(t), "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Error("two builds of the same source differ")
	}
}

func TestFailedBuildCarriesTheCompilerMessage(t *testing.T) {
	b := &stack.GoBuild{Dir: filepath.Join("testdata", "broken")}
	err := b.Build(t.TempDir())
	if err == nil {
		t.Fatal("Build succeeded on code that does not compile")
	}
	for _, want := range []string{"building testdata/broken for linux/arm64", "main.go:6", "cannot use \"high\""} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	// Inside synth the same error must surface, not a Docker fallback.
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(error).Error(), "cannot use \"high\"") {
			t.Errorf("TryBundle recovered %v, want the build error", r)
		}
	}()
	b.TryBundle(jsii.String(t.TempDir()), nil)
}

func TestCheckBootstrapRefusesWhatLambdaCannotRun(t *testing.T) {
	notArm64 := t.TempDir()
	// A link: the test binary is large, and CheckBootstrap follows it.
	if err := os.Symlink(foreignELF(t), filepath.Join(notArm64, "bootstrap")); err != nil {
		t.Fatal(err)
	}
	notExecutable := buildHello(t)
	if err := os.Chmod(filepath.Join(notExecutable, "bootstrap"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := t.TempDir()
	if err := os.WriteFile(filepath.Join(script, "bootstrap"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, wantErr string
	}{
		{"missing", t.TempDir(), "run make build first"},
		{"not executable", notExecutable, "is not executable"},
		{"a script", script, "as an ELF executable"},
		{"built for another CPU", notArm64, "the function runs on arm64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := stack.CheckBootstrap(tt.dir)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("CheckBootstrap = %v, want an error saying %q", err, tt.wantErr)
			}
		})
	}
}

func TestPrebuiltBootstrapIsTheDeployedCode(t *testing.T) {
	dir := buildHello(t)
	// The release function's prebuilt bootstrap sits beside the contain
	// function's, as make build writes dist/contain and dist/release.
	release := stack.ReleaseDir(dir)
	if err := os.MkdirAll(release, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := (&stack.GoBuild{Dir: filepath.Join("testdata", "hello")}).Build(release); err != nil {
		t.Fatal(err)
	}
	s := synth(t, map[string]any{"bootstrapDir": dir})
	want, err := os.ReadFile(filepath.Join(dir, "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	// The asset staged into the cloud assembly is what CDK uploads.
	staged, err := filepath.Glob(filepath.Join(outRoot, "app-*", "asset.*", "bootstrap"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, path := range staged {
		if got, err := os.ReadFile(path); err == nil && bytes.Equal(got, want) {
			found = true
		}
	}
	if !found {
		t.Errorf("the prebuilt bootstrap was not staged as the function's code (staged: %v)", staged)
	}
	_, fn := s.withPrefix(t, "AWS::Lambda::Function", "Contain")
	if fn.Properties["Runtime"] != "provided.al2023" {
		t.Errorf("runtime %v", fn.Properties["Runtime"])
	}
}

// foreignELF returns a Linux executable for a CPU other than arm64: the test
// binary itself where it is one, else a fresh amd64 build of testdata/hello.
func foreignELF(t *testing.T) string {
	t.Helper()
	if runtime.GOOS == "linux" && runtime.GOARCH != "arm64" {
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		return self
	}
	out := filepath.Join(t.TempDir(), "hello-amd64")
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = filepath.Join("testdata", "hello")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the amd64 fixture: %v\n%s", err, msg)
	}
	return out
}
