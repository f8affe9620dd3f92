package finding_test

import (
	"errors"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/finding"
)

func TestSweepRequestIsStrict(t *testing.T) {
	in, err := finding.Parse([]byte(` {"sweep": true} `))
	if err != nil || !in.Sweep || in.Source != finding.SourceSchedule || in.Manual != nil {
		t.Fatalf("Parse(sweep) = %+v, %v", in, err)
	}
	for _, bad := range []string{
		`{"sweep": false}`, `{"sweep": "true"}`, `{"sweep": 1}`, `{"sweep": null}`, `{"Sweep": true}`,
		`{"sweep": true, "sweep": true}`, `{"sweep": true, "instanceId": "i-0abc1234def567890"}`, `{"sweep": true} {}`,
	} {
		in, err := finding.Parse([]byte(bad))
		if err == nil || in != nil || !(errors.Is(err, finding.ErrInvalid) || errors.Is(err, finding.ErrUnrecognized)) {
			t.Errorf("Parse(%s) = %+v, %v; want refused", bad, in, err)
		}
	}
}
