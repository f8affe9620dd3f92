package stack_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/firebreak-ir/firebreak/infra/stack"
)

// jsii starts one node child per process (in package init): tests share it,
// never run in parallel, and close it once at the end.
func TestMain(m *testing.M) {
	code := runTests(m)
	jsii.Close()
	os.Exit(code)
}

var (
	repoRoot string
	outRoot  string
	synths   = map[string]*synthesized{}
)

func runTests(m *testing.M) int {
	var err error
	if repoRoot, err = filepath.Abs(filepath.Join("..", "..")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if outRoot, err = os.MkdirTemp("", "firebreak-infra-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(outRoot)
	return m.Run()
}

// synthesized is one app built by stack.Build, as `make synth` builds it.
type synthesized struct {
	stack    awscdk.Stack
	cfg      stack.Config
	template assertions.Template
	// resources is the template's Resources section, for checks the
	// assertions library cannot express (walking every policy).
	resources map[string]resource
	outputs   map[string]any
	// app is the whole app; member is its member stack, when it has one.
	app    awscdk.App
	member *synthesized
}

type resource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
	Metadata   map[string]any `json:"Metadata"`
	// DeletionPolicy and UpdateReplacePolicy are "Retain" for what outlives the stack.
	DeletionPolicy      string `json:"DeletionPolicy"`
	UpdateReplacePolicy string `json:"UpdateReplacePolicy"`
}

// cdkJSONContext is the context block of the repository's cdk.json: tests
// run with the same feature flags and defaults as a real synth.
func cdkJSONContext(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "cdk.json"))
	if err != nil {
		t.Fatalf("reading cdk.json: %v", err)
	}
	var doc struct {
		App     string         `json:"app"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parsing cdk.json: %v", err)
	}
	return doc.Context
}

// synth builds the app with cdk.json's context plus overrides (values as -c
// would give them, or JSON values as cdk.json would) and bundling skipped.
// Apps are cached per overrides: a synth costs about a second.
func synth(t *testing.T, overrides map[string]any) *synthesized {
	t.Helper()
	key, _ := json.Marshal(overrides)
	if s, ok := synths[string(key)]; ok {
		return s
	}
	ctx := cdkJSONContext(t)
	for k, v := range overrides {
		ctx[k] = v
	}
	// Skip the Go build of the function: unit tests check the template.
	ctx["aws:cdk:bundling-stacks"] = []any{}
	out, err := os.MkdirTemp(outRoot, "app-")
	if err != nil {
		t.Fatal(err)
	}
	s := &synthesized{}
	func() {
		// An unsuppressed cdk-nag error fails the synth with a pointer to the
		// validation report: print the report's findings instead.
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("synthesizing with %s: %v%s", key, r, validationFindings(out))
			}
		}()
		app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(out)})
		st, cfg, err := stack.Build(app, filepath.Join(repoRoot, "functions", "contain"))
		if err != nil {
			t.Fatalf("building the app with %s: %v", key, err)
		}
		s.stack, s.cfg, s.app = st, cfg, app
		s.template = assertions.Template_FromStack(st, nil)
		if m := stack.MemberStackOf(app); m != nil {
			s.member = &synthesized{stack: m, cfg: cfg, app: app, template: assertions.Template_FromStack(m, nil)}
		}
	}()
	s.read(t)
	if s.member != nil {
		s.member.read(t)
	}
	synths[string(key)] = s
	return s
}

// read fills resources and outputs from the template.
func (s *synthesized) read(t *testing.T) {
	t.Helper()
	raw, err := json.Marshal(s.template.ToJSON())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Resources map[string]resource `json:"Resources"`
		Outputs   map[string]any      `json:"Outputs"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	s.resources, s.outputs = doc.Resources, doc.Outputs
}

// validationFindings lists the violations of a failed synth's report.
func validationFindings(outdir string) string {
	raw, err := os.ReadFile(filepath.Join(outdir, "validation-report.json"))
	if err != nil {
		return ""
	}
	var report struct {
		PluginReports []struct {
			Violations []struct {
				Description         string `json:"description"`
				ViolatingConstructs []struct {
					ConstructPath string `json:"constructPath"`
				} `json:"violatingConstructs"`
			} `json:"violations"`
		} `json:"pluginReports"`
	}
	if json.Unmarshal(raw, &report) != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range report.PluginReports {
		for _, v := range p.Violations {
			for _, c := range v.ViolatingConstructs {
				desc, _, _ := strings.Cut(v.Description, "\n")
				if len(desc) > 160 {
					desc = desc[:160] + "..."
				}
				fmt.Fprintf(&b, "\n  %s: %s", c.ConstructPath, desc)
			}
		}
	}
	return b.String()
}

// check runs assertions that panic (the CDK assertions library does) and
// turns the panic into a test failure with the library's message.
func check(t *testing.T, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%v", r)
		}
	}()
	f()
}

// ofType returns the logical ids of every resource of a type, sorted.
func (s *synthesized) ofType(typ string) []string {
	var ids []string
	for id, r := range s.resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// only returns the single resource of a type, failing if there is not one.
func (s *synthesized) only(t *testing.T, typ string) (string, resource) {
	t.Helper()
	ids := s.ofType(typ)
	if len(ids) != 1 {
		t.Fatalf("want one %s, got %d: %s", typ, len(ids), strings.Join(ids, ", "))
	}
	return ids[0], s.resources[ids[0]]
}

// withPrefix returns the one resource of a type whose logical id starts with prefix.
func (s *synthesized) withPrefix(t *testing.T, typ, prefix string) (string, resource) {
	t.Helper()
	var found []string
	for _, id := range s.ofType(typ) {
		if strings.HasPrefix(id, prefix) {
			found = append(found, id)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s named %s*, got %v", typ, prefix, found)
	}
	return found[0], s.resources[found[0]]
}

func toJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
