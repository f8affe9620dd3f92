package notify

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// text makes an untrusted string safe for one line of the plain-text summary.
// It cuts the raw value first (so an escape sequence is never split), then
// shows control and invisible formatting characters as visible escapes, so
// that a finding cannot forge summary lines or reorder them with bidi
// overrides. Every other character is the finding's own: SNS email and chat
// relays are plain text, where HTML entities would only be noise (a relay
// that renders markup escapes for itself).
func text(s string, max int) string {
	s = cut(s, max)
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case invisible(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// invisible reports runes that change how text is laid out without being seen:
// C1 controls (NEL breaks lines in some viewers), line and paragraph
// separators, bidi overrides and zero-width characters.
func invisible(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// cut shortens s to at most max bytes of content, on a rune boundary, and
// appends a marker naming the original size. max <= 0 means no limit.
func cut(s string, max int) string {
	if max <= 0 || len(s) <= max {
		return s
	}
	end := max
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + fmt.Sprintf("...[truncated, %d bytes in all]", len(s))
}

// ascii keeps the printable ASCII bytes of s and drops everything else,
// which is what an email subject line can carry without encoding.
func ascii(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x20 && c <= 0x7e {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// shorten cuts an ASCII string to at most max bytes, ending in "..." when cut.
func shorten(s string, max int) string {
	if len(s) <= max {
		return s
	}
	if max <= 3 {
		return s[:max]
	}
	return s[:max-3] + "..."
}

// escapeInvisibleJSON rewrites the invisible runes that encoding/json leaves
// raw (C1 controls, bidi overrides, zero-width characters) as \u escapes. Such
// runes only occur inside JSON strings, so the document means the same.
func escapeInvisibleJSON(js []byte) []byte {
	var b strings.Builder
	b.Grow(len(js))
	for i := 0; i < len(js); {
		r, size := utf8.DecodeRune(js[i:])
		switch {
		case r >= 0x80 && invisible(r) && r > 0xffff:
			hi, lo := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, hi, lo)
		case r >= 0x80 && invisible(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.Write(js[i : i+size])
		}
		i += size
	}
	return []byte(b.String())
}
