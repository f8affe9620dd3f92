package notify_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/firebreak-ir/firebreak/internal/notify"
	"github.com/firebreak-ir/firebreak/internal/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// format lays a message out for a golden file: subject, attributes in name
// order, then the body as published.
func format(m notify.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Subject: %s\n\nAttributes:\n", m.Subject)
	names := make([]string, 0, len(m.Attributes))
	for n := range m.Attributes {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		v := m.Attributes[n]
		fmt.Fprintf(&b, "  %s (%s) = %s\n", n, aws.ToString(v.DataType), aws.ToString(v.StringValue))
	}
	fmt.Fprintf(&b, "\nBody:\n%s", m.Body)
	return b.String()
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name   string
		report *report.Report
	}{
		{"contained", contained()},
		{"exfiltrated", exfiltrated()},
		{"dry-run", dryRun()},
		{"notify-target", notifyTarget()},
		{"partial-failure-detach", partialFailure()},
		{"isolation-failure", isolationFailure()},
		{"already-contained", alreadyContained()},
		{"drift-repaired", driftRepaired()},
		{"attack-sequence", attackSequence()},
		{"hostile-title", hostile()},
		{"ignored", ignored()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := format(notify.Render(tt.report))
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file (run go test -update to create it): %v", err)
			}
			if got != string(want) {
				t.Errorf("rendered message differs from %s (run go test -update and review the diff):\n%s", path, got)
			}
		})
	}
}
