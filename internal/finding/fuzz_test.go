package finding_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/finding"
)

func FuzzParse(f *testing.F) {
	for _, name := range events.Names() {
		f.Add(events.Must(name))
	}
	for _, seed := range []string{
		``, `{}`, `[]`, `null`, `"x"`,
		`{"instanceId":"i-12345678","reason":"r","dryRun":false}`,
		`{"instanceId":"i-12345678","reason":"r","dryrun":false}`,
		`{"instanceId":"i-12345678","reason":"r","dryRun":true,"dryRun":false}`,
		`{"source":"aws.guardduty","detail-type":"GuardDuty Finding","detail":{"type":"x","severity":1e400}}`,
		`{"source":"aws.guardduty","detail-type":"GuardDuty Finding","detail":{"type":"x","service":{"additionalInfo":{"type":"default","value":"{\"sample\":"}}}}`,
		`{"source":"aws.securityhub","detail-type":"Security Hub Findings - Custom Action","detail":{"findings":[{"Resources":[{"Type":"AwsEc2Instance","Id":"arn:"}]}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		in, err := finding.Parse(raw)
		if err != nil {
			if in != nil {
				t.Fatal("an error came with an input")
			}
			if !errors.Is(err, finding.ErrUnrecognized) && !errors.Is(err, finding.ErrInvalid) {
				t.Fatalf("error %v wraps neither ErrUnrecognized nor ErrInvalid", err)
			}
			return
		}
		switch in.Source {
		case finding.SourceGuardDuty, finding.SourceSecurityHub:
			for _, id := range in.Targets {
				if !finding.ValidInstanceID(id) {
					t.Fatalf("target %q is not a valid instance id", id)
				}
			}
			// Whatever decoded must encode: the report carries it.
			if _, err := json.Marshal(in); err != nil {
				t.Fatalf("encoding the input: %v", err)
			}
		case finding.SourceManual:
			if !finding.ValidInstanceID(in.Manual.InstanceID) || in.Manual.Reason == "" {
				t.Fatalf("accepted an incomplete request %+v", in.Manual)
			}
			// A manual request survives a round trip unchanged.
			b, err := json.Marshal(in.Manual)
			if err != nil {
				t.Fatal(err)
			}
			again, err := finding.Parse(b)
			if err != nil {
				t.Fatalf("re-parsing %s: %v", b, err)
			}
			if !reflect.DeepEqual(again.Manual, in.Manual) {
				t.Fatalf("round trip changed the request: %+v -> %+v", in.Manual, again.Manual)
			}
		default:
			t.Fatalf("unknown source %q", in.Source)
		}
	})
}
