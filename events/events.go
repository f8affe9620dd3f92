// Package events embeds realistic sample events: complete EventBridge events
// (each valid as a Lambda console test event) and manual requests. Tests, the
// demo and the docs use them; they are never sent to AWS.
package events

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

//go:embed *.json
var files embed.FS

// Default is the demo's default event: a backdoor C&C finding on the victim.
const Default = "guardduty-backdoor-c2.json"

// IsRelease reports whether a file is for the release function (its name
// says release); every other file is for the contain function.
func IsRelease(name string) bool { return strings.Contains(name, "release") }

// Names lists the embedded event files, sorted.
func Names() []string {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		// The embedded FS is fixed at build time; reading its root cannot fail.
		panic(fmt.Sprintf("reading embedded events: %v", err))
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// Load returns the bytes of the named event file.
func Load(name string) ([]byte, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("loading event %q (have %v): %w", name, Names(), err)
	}
	return b, nil
}

// Must is Load for names known at compile time; it panics on an unknown name.
func Must(name string) []byte {
	b, err := Load(name)
	if err != nil {
		panic(err)
	}
	return b
}
