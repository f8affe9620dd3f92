package finding

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// Timestamp is a point in time that GuardDuty writes either as an RFC 3339
// string or as a number of epoch seconds (maybe fractional). Nested blocks
// such as runtimeDetails and ebsVolumeScanDetails use both.
//
// Decoding is tolerant: a value that is neither leaves the time zero and keeps
// the raw JSON so that nothing the finding said is lost when re-encoded.
type Timestamp struct {
	time.Time
	raw json.RawMessage
}

// A number this large cannot be epoch seconds (it would be past the year 5000),
// so it is read as epoch milliseconds, which some GuardDuty features write.
const millisecondsAbove = 1e11

// NewTimestamp wraps t.
func NewTimestamp(t time.Time) Timestamp { return Timestamp{Time: t} }

// IsZero reports whether the timestamp holds neither a time nor a raw value.
func (t Timestamp) IsZero() bool { return t.Time.IsZero() && len(t.raw) == 0 }

// UnmarshalJSON accepts null, a JSON number of epoch seconds (or milliseconds),
// an RFC 3339 string, or a string holding a number.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	*t = Timestamp{}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			t.raw = append(json.RawMessage(nil), b...)
			return nil
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return nil
		}
		if parsed, err := time.Parse(time.RFC3339Nano, s); err == nil {
			t.Time = parsed.UTC()
			return nil
		}
		if tm, ok := epoch(s); ok {
			t.Time = tm
			return nil
		}
		t.raw = append(json.RawMessage(nil), b...)
		return nil
	}
	if tm, ok := epoch(string(b)); ok {
		t.Time = tm
		return nil
	}
	t.raw = append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON writes an RFC 3339 string (UTC), the raw value when the input
// could not be read as a time, or null.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	switch {
	case !t.Time.IsZero():
		return json.Marshal(t.Time.UTC().Format(time.RFC3339Nano))
	case len(t.raw) > 0:
		return t.raw, nil
	default:
		return []byte("null"), nil
	}
}

// epoch reads s as epoch seconds or, above millisecondsAbove, milliseconds,
// to microsecond precision (what a float64 of today's epoch seconds holds).
func epoch(s string) (time.Time, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, false
	}
	if math.Abs(f) >= millisecondsAbove {
		f /= 1000
	}
	// Beyond this range the conversion to int64 microseconds would overflow.
	if math.Abs(f) > 1e12 {
		return time.Time{}, false
	}
	micros := math.Round(f * 1e6)
	return time.UnixMicro(int64(micros)).UTC(), true
}
