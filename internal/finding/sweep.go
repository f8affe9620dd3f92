package finding

import (
	"errors"
	"fmt"
)

// parseSweep decodes the schedule's request, {"sweep": true}, as strictly
// as a manual request: nothing else may ride along, and false is refused
// rather than read as "do nothing".
func parseSweep(raw []byte) (*Input, error) {
	fields, err := exactObject(raw, []string{"sweep"})
	if err == nil {
		var on bool
		if on, err = readBool(fields, "sweep", "true"); err == nil && !on {
			err = errors.New(`sweep must be true: {"sweep": true} verifies every contained instance`)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: sweep request: %v", ErrInvalid, err)
	}
	return &Input{Source: SourceSchedule, Sweep: true}, nil
}
