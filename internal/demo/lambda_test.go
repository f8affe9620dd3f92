package demo

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Parts of the output that differ between two runs of the same demo: ids the
// in-memory AWS hands out in call order (concurrent steps finish in any
// order), timestamps (the function reads the wall clock, the in-process demo
// the fake's), the evidence hash, which covers timestamps, its S3 version,
// and the Lambda request id, which only the real function has.
var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\b(snap|i|sg|eni|sgr)-0{5,}[0-9a-f]+\b`), "$1-<id>"},
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z`), "<time>"},
	{regexp.MustCompile(`(?i)sha-?256([ =])[0-9a-f]{64}`), "sha256$1<sum>"},
	{regexp.MustCompile(`(evidence-version=|version )v[0-9a-f]+`), "$1<version>"},
	// The release function records the Lambda request id; in process there is none.
	{regexp.MustCompile(`; lambda request [0-9a-f-]+`), ""},
}

func normalize(s string) string {
	for _, v := range volatile {
		s = v.re.ReplaceAllString(s, v.with)
	}
	return s
}

// TestLambdaModePrintsWhatInProcessPrints runs the same events through the
// handler in this process and through the built bootstrap under the runtime
// emulator over the wire: the two demos must tell the same story, world
// included.
func TestLambdaModePrintsWhatInProcessPrints(t *testing.T) {
	names := []string{"guardduty-backdoor-c2.json", "guardduty-backdoor-c2-update.json",
		"guardduty-sample-backdoor.json", "guardduty-ssh-bruteforce-target.json", "manual-dry-run.json",
		"manual-release-dry-run.json", "manual-release.json", "guardduty-backdoor-c2-update.json"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	var inProcess, lambda, fnOut bytes.Buffer
	if err := Run(ctx, names, "text", &inProcess, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatalf("in-process demo: %v", err)
	}
	if err := RunLambda(ctx, names, "text", &lambda, LambdaOptions{FunctionOutput: &fnOut}); err != nil {
		t.Fatalf("lambda demo: %v\nfunction output:\n%s", err, fnOut.String())
	}
	if strings.Contains(fnOut.String(), "WARNING: DATA RACE") {
		t.Errorf("the function has a data race:\n%s", fnOut.String())
	}
	want, got := strings.Split(normalize(inProcess.String()), "\n"), strings.Split(normalize(lambda.String()), "\n")
	for i := range max(len(want), len(got)) {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			t.Errorf("line %d differs:\n in-process %q\n lambda     %q", i+1, w, g)
		}
	}
	// The comparison means something only if the story is the full one.
	for _, s := range []string{"decision: CONTAIN", "already contained", "[SAMPLE]", "decision: IGNORE", "[DRY RUN]",
		"decision: RELEASE", "WOULD RELEASE", "re-publication ignored", "groups: web, app"} {
		if !strings.Contains(lambda.String(), s) {
			t.Errorf("lambda demo output lacks %q:\n%s", s, lambda.String())
		}
	}
}

// TestLambdaModeRefusesBeforeBuilding: bad arguments fail at once, before
// seconds of building.
func TestLambdaModeRefusesBeforeBuilding(t *testing.T) {
	for _, tc := range []struct {
		name, format, event, want string
	}{
		{"unknown format", "yaml", "guardduty-backdoor-c2.json", "FORMAT must be text or json"},
		{"unknown event", "text", "no-such-event.json", "not a file, nor one of events/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var status bytes.Buffer
			err := RunLambda(context.Background(), []string{tc.event}, tc.format, io.Discard, LambdaOptions{Status: &status})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
			if status.Len() > 0 {
				t.Errorf("it went on to %q", status.String())
			}
		})
	}
}
