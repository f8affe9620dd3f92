package finding_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/finding"
)

func TestParseReleaseRefusesWhatIsNotAPersonsRelease(t *testing.T) {
	const ok = `"instanceId":"i-0abc1234def567890","reason":"false positive"`
	action := strings.Replace(string(events.Must("securityhub-release-action.json")), "FirebreakRelease", "FirebreakContain", 1)
	for _, tc := range []struct {
		name, raw, want string
		is              error
	}{
		{"dryRun missing", `{` + ok + `}`, "dryRun is required: true to plan only, false to release", finding.ErrInvalid},
		{"dryRun as a string", `{` + ok + `,"dryRun":"false"}`, "dryRun must be the JSON boolean", finding.ErrInvalid},
		{"reattach as a string", `{` + ok + `,"dryRun":false,"reattach":"yes"}`, "reattach must be the JSON boolean", finding.ErrInvalid},
		{"reattach null", `{` + ok + `,"dryRun":false,"reattach":null}`, "reattach must not be null", finding.ErrInvalid},
		{"a misspelt key", `{` + ok + `,"dryRun":false,"reAttach":true}`, `did you mean "reattach"?`, finding.ErrInvalid},
		{"a containment request's key", `{` + ok + `,"dryRun":false,"caseId":"IR-1"}`, "looks like a containment request", finding.ErrInvalid},
		{"no reason", `{"instanceId":"i-0abc1234def567890","dryRun":false}`, "reason is required: say why the instance is released", finding.ErrInvalid},
		{"empty requestedBy", `{` + ok + `,"dryRun":false,"requestedBy":" "}`, "requestedBy is empty", finding.ErrInvalid},
		{"a key twice", `{` + ok + `,"dryRun":true,"dryRun":false}`, `"dryRun" appears twice`, finding.ErrInvalid},
		{"a GuardDuty finding", string(events.Must(events.Default)), "never acts on a finding", finding.ErrUnrecognized},
		{"the contain action", action, "is not \"Release: Firebreak\"", finding.ErrUnrecognized},
		{"not an object", `[]`, "not a JSON object", finding.ErrUnrecognized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := finding.ParseRelease([]byte(tc.raw))
			if err == nil || in != nil {
				t.Fatalf("ParseRelease accepted it: %+v", in)
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want %v containing %q", err, tc.is, tc.want)
			}
		})
	}
}

func TestParseReleaseDefaults(t *testing.T) {
	in, err := finding.ParseRelease([]byte(`{"instanceId":"i-0abc1234def567890","reason":"false positive","dryRun":false}`))
	if err != nil {
		t.Fatal(err)
	}
	if in.Manual.Reattach || in.Manual.RequestedBy != "" || in.AccountID() != "" {
		t.Errorf("defaults %+v: want reattach false, no requestedBy, the function's own account", in.Manual)
	}
	sh, err := finding.ParseRelease(events.Must("securityhub-release-action.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := sh.FindingIDs(); len(got) != 1 || got[0] != "411647294fc69b66beba1f3f7bbbc43d" || sh.AccountID() != "123456789012" || sh.Region() != "us-east-1" {
		t.Errorf("Security Hub release: findings %v, account %s, Region %s", got, sh.AccountID(), sh.Region())
	}
}

// A release request sent to the contain function is refused with where it belongs.
func TestContainRefusesAReleaseRequest(t *testing.T) {
	_, err := finding.Parse(events.Must("manual-release.json"))
	if err == nil || !strings.Contains(err.Error(), "looks like a release request") {
		t.Errorf("error %v, want one pointing to the release function", err)
	}
	_, err = finding.Parse(events.Must("securityhub-release-action.json"))
	if !errors.Is(err, finding.ErrUnrecognized) || !strings.Contains(err.Error(), "release function") {
		t.Errorf("error %v, want the release action refused by the contain parser", err)
	}
}

func FuzzParseRelease(f *testing.F) {
	for _, name := range events.Names() {
		f.Add(events.Must(name))
	}
	f.Add([]byte(`{"instanceId":"i-12345678","reason":"r","dryRun":false,"reattach":true}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		in, err := finding.ParseRelease(raw)
		if err != nil {
			if in != nil || !errors.Is(err, finding.ErrUnrecognized) && !errors.Is(err, finding.ErrInvalid) {
				t.Fatalf("error %v with input %v", err, in)
			}
			return
		}
		if len(in.Targets) == 0 || (in.Manual == nil) == (in.SecurityHub == nil) {
			t.Fatalf("accepted %q as %+v: want targets and exactly one of a request or an action", raw, in)
		}
		for _, id := range in.Targets {
			if !finding.ValidInstanceID(id) {
				t.Fatalf("target %q is not an instance id", id)
			}
		}
	})
}
