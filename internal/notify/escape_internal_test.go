package notify

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "Backdoor:EC2/C2", 0, "Backdoor:EC2/C2"},
		{"line breaks shown, not kept", "a\nStatus: contained\r\n", 0, `a\nStatus: contained\r\n`},
		{"tab and other controls", "a\tb\x00c\x1b[31m\x7f", 0, `a\tb\x00c\x1b[31m\x7f`},
		{"the finding's own characters", `Backdoor:EC2/C&CActivity.B!DNS <b>"x" 'y'</b>`, 0, `Backdoor:EC2/C&CActivity.B!DNS <b>"x" 'y'</b>`},
		{"non-ASCII letters kept", "Ünïcødé 攻撃", 0, "Ünïcødé 攻撃"},
		{"bidi override and zero width", "abc\u202edef\u200b", 0, `abc\u202edef\u200b`},
		{"unicode line separators and NEL", "a\u2028b\u2029c\u0085d", 0, `a\u2028b\u2029c\u0085d`},
		{"invalid UTF-8", "a\xffb", 0, `a\xffb`},
		{"cut before escaping", "\x00\x00\x00\x00\x00", 2, `\x00\x00...[truncated, 5 bytes in all]`},
		{"cut on a rune boundary", "攻撃", 4, "攻...[truncated, 6 bytes in all]"},
		{"short enough", "abc", 3, "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := text(tt.in, tt.max); got != tt.want {
				t.Errorf("text(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func TestAsciiAndShorten(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"Backdoor:EC2/C&CActivity.B", 99, "Backdoor:EC2/C&CActivity.B"},
		{"Trojan:EC2/\r\nDNS\tData\u00e9\u202eExfiltration", 99, "Trojan:EC2/DNSDataExfiltration"},
		{"abcdefghij", 8, "abcde..."},
		{"abcdefghij", 2, "ab"},
	}
	for _, tt := range tests {
		if got := shorten(ascii(tt.in), tt.max); got != tt.want {
			t.Errorf("shorten(ascii(%q), %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestEscapeInvisibleJSON(t *testing.T) {
	values := []string{
		"plain",
		"bidi \u202eevil\u202c and zero width \u200b\ufeff",
		"NEL \u0085 and C1 \u009b[31m",
		"tag characters \U000e0041\U000e007f (outside the BMP)",
		"<script>&\n\u2028",
	}
	for _, v := range values {
		raw, err := json.Marshal(map[string]string{"v": v})
		if err != nil {
			t.Fatal(err)
		}
		out := escapeInvisibleJSON(raw)
		for _, r := range string(out) {
			if r >= 0x80 && invisible(r) {
				t.Errorf("%q: invisible rune %U left raw in %s", v, r, out)
			}
		}
		if strings.ContainsAny(string(out), "<>&\n") {
			t.Errorf("%q: encoding/json's escaping was lost: %s", v, out)
		}
		var back map[string]string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q: escaped JSON does not parse: %v", v, err)
		}
		if back["v"] != v {
			t.Errorf("round trip changed the value: got %q, want %q", back["v"], v)
		}
	}
}
