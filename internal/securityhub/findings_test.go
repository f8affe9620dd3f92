package securityhub_test

import (
	"encoding/json"
	"testing"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/finding"
	"github.com/firebreak-ir/firebreak/internal/securityhub"
)

func TestFindingsOfEachEventShape(t *testing.T) {
	parse := func(raw []byte) *finding.Input {
		t.Helper()
		in, err := finding.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	const victim = "i-0abc1234def567890"
	gd, _ := securityhub.GuardDuty(arn)
	noARN := func() []byte {
		var ev map[string]any
		_ = json.Unmarshal(events.Must("guardduty-backdoor-c2.json"), &ev)
		delete(ev["detail"].(map[string]any), "arn")
		raw, _ := json.Marshal(ev)
		return raw
	}
	for name, tc := range map[string]struct {
		raw  []byte
		want []securityhub.Finding
	}{
		"GuardDuty event":         {events.Must("guardduty-backdoor-c2.json"), []securityhub.Finding{withARN(gd, "4ac5f1e0b8c2d6a7e9f0b1c2d3e4f5a6")}},
		"GuardDuty event, no arn": {noARN(), []securityhub.Finding{withARN(gd, "4ac5f1e0b8c2d6a7e9f0b1c2d3e4f5a6")}},
		"custom action":           {events.Must("securityhub-custom-action.json"), []securityhub.Finding{withARN(gd, "4ac5f1e0b8c2d6a7e9f0b1c2d3e4f5a6")}},
		"manual request":          {events.Must("manual-contain.json"), nil},
	} {
		got := securityhub.Findings(parse(tc.raw), victim)
		if len(got) != len(tc.want) || len(got) > 0 && got[0] != tc.want[0] {
			t.Errorf("%s: %+v, want %+v", name, got, tc.want)
		}
	}
	if got := securityhub.Findings(parse(events.Must("securityhub-custom-action.json")), "i-0fffffffffffffff0"); len(got) != 0 {
		t.Errorf("custom action findings for another instance: %+v", got)
	}
}

// withARN is f for the sample events' detector.
func withARN(f securityhub.Finding, detector string) securityhub.Finding {
	a := "arn:aws:guardduty:us-east-1:123456789012:detector/" + detector + "/finding/411647294fc69b66beba1f3f7bbbc43d"
	f.ID, f.UID = a, a
	return f
}
