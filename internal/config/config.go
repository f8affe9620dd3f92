// Package config reads Firebreak's settings from the environment, once, at start.
package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// Config is everything the containment function can be told.
type Config struct {
	TopicARN       string
	EvidenceBucket string
	DryRun         bool
	ContainMin     float64
	NotifyMin      float64
	Isolation      string
	// CredentialFindings is what an instance-credential exfiltration finding
	// leads to (contract.CredentialFindings*).
	CredentialFindings string
	// AccountID is the account the function runs in; empty means "ask STS".
	AccountID string
	// MemberAccounts are the other accounts the function acts in, through
	// MemberRole; Organization admits any account (the member role's trust
	// requires the organization). Neither: a single-account deployment.
	MemberAccounts []string
	Organization   bool
	MemberRole     string
	// GuardTable is the blast-radius guard's DynamoDB table; at most
	// MaxAutomatic automatic containments per account and Region in any
	// GuardWindow.
	GuardTable   string
	MaxAutomatic int
	GuardWindow  time.Duration
	// SnapshotLock is the EBS snapshot lock of evidence snapshots.
	SnapshotLock SnapshotLock
	// SecurityHub is the write-back to Security Hub (contract.SecurityHub*).
	SecurityHub string
}

// SnapshotLock is a lock mode (contract.SnapshotLock*), its duration and,
// in compliance mode, its cooling-off period (0: none, final at once).
type SnapshotLock struct {
	Mode         string
	Days         int32
	CoolOffHours int32
}

// Partition is the AWS partition the function runs in, read from its topic's ARN.
func (c Config) Partition() string {
	parts := strings.SplitN(c.TopicARN, ":", 3)
	if len(parts) < 3 {
		return "aws"
	}
	return parts[1]
}

// NACL reports whether the network-ACL hard cut is on.
func (c Config) NACL() bool { return c.Isolation == contract.IsolationSGNACL }

// Counted repetitions ({1,256}) compile into one copy each, at package init
// on every cold start: lengths are checked apart instead (validName).
var (
	topicARN  = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:([A-Za-z0-9_-]+)(\.fifo)?$`)
	bucket    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]+[a-z0-9]$`)
	roleName  = regexp.MustCompile(`^[\w+=,.@-]+$`)
	accountID = regexp.MustCompile(`^\d{12}$`)
	tableName = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)
)

// validName matches s against a pattern and bounds its length (or that of
// the pattern's first group).
func validName(re *regexp.Regexp, s string, minLen, maxLen int) bool {
	m := re.FindStringSubmatch(s)
	if m == nil {
		return false
	}
	n := len(m[0])
	if len(m) > 1 {
		n = len(m[1])
	}
	return n >= minLen && n <= maxLen
}

// FromEnv reads and validates the contain function's configuration. Every
// problem is reported at once, each naming the variable, so a bad deployment
// fails with one clear message.
func FromEnv(getenv func(string) string) (Config, error) { return load(getenv, true) }

// ReleaseFromEnv reads the release function's configuration: the contain
// function's but the blast-radius guard, which only limits containments.
func ReleaseFromEnv(getenv func(string) string) (Config, error) { return load(getenv, false) }

func load(getenv func(string) string, guard bool) (Config, error) {
	c := Config{Isolation: contract.IsolationSG, ContainMin: 7, NotifyMin: 4, SecurityHub: contract.SecurityHubAuto,
		SnapshotLock: SnapshotLock{Mode: contract.SnapshotLockGovernance, Days: 90}}
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}

	c.TopicARN = strings.TrimSpace(getenv(contract.EnvTopicARN))
	switch {
	case c.TopicARN == "":
		bad(contract.EnvTopicARN, "required: the SNS topic ARN reports are published to")
	case !validName(topicARN, c.TopicARN, 1, 256):
		bad(contract.EnvTopicARN, "%q is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)", c.TopicARN)
	}
	c.EvidenceBucket = strings.TrimSpace(getenv(contract.EnvEvidenceBucket))
	switch {
	case c.EvidenceBucket == "":
		bad(contract.EnvEvidenceBucket, "required: the S3 bucket the pre-change evidence is written to")
	case !validName(bucket, c.EvidenceBucket, 3, 63):
		bad(contract.EnvEvidenceBucket, "%q is not a valid S3 bucket name", c.EvidenceBucket)
	}
	if v := strings.TrimSpace(getenv(contract.EnvDryRun)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad(contract.EnvDryRun, "%q is not true or false", v)
		}
		c.DryRun = b
	}
	severity := func(name string, dst *float64) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 10 {
			bad(name, "%q is not a severity between 0 and 10", v)
			return
		}
		*dst = f
	}
	severity(contract.EnvContainMinSeverity, &c.ContainMin)
	severity(contract.EnvNotifyMinSeverity, &c.NotifyMin)
	if c.NotifyMin > c.ContainMin {
		bad(contract.EnvNotifyMinSeverity, "%v is above FIREBREAK_CONTAIN_MIN_SEVERITY %v: contained findings would not be reported", c.NotifyMin, c.ContainMin)
	}
	c.CredentialFindings = contract.CredentialFindingsContain
	if v := strings.TrimSpace(getenv(contract.EnvCredentialFindings)); v != "" {
		switch v {
		case contract.CredentialFindingsContain, contract.CredentialFindingsOnly, contract.CredentialFindingsNotify:
			c.CredentialFindings = v
		default:
			bad(contract.EnvCredentialFindings, "%q is not %q, %q or %q", v, contract.CredentialFindingsContain, contract.CredentialFindingsOnly, contract.CredentialFindingsNotify)
		}
	}
	if v := strings.TrimSpace(getenv(contract.EnvIsolation)); v != "" {
		if v != contract.IsolationSG && v != contract.IsolationSGNACL {
			bad(contract.EnvIsolation, "%q is not %q or %q", v, contract.IsolationSG, contract.IsolationSGNACL)
		}
		c.Isolation = v
	}
	if v := strings.TrimSpace(getenv(contract.EnvAccountID)); v != "" {
		if !accountID.MatchString(v) {
			bad(contract.EnvAccountID, "%q is not a 12-digit account id", v)
		}
		c.AccountID = v
	}
	members(getenv, &c, bad)
	if guard {
		readGuard(getenv, &c, bad)
	} else if c.GuardTable = strings.TrimSpace(getenv(contract.EnvGuardTable)); c.GuardTable != "" && !tableName.MatchString(c.GuardTable) {
		// The release takes the same table's role locks to remove a deny.
		bad(contract.EnvGuardTable, "%q is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)", c.GuardTable)
	}
	errs = append(errs, readEvidenceSettings(getenv, &c)...)
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid configuration: %w", errors.Join(errs...))
	}
	return c, nil
}

// readGuard reads the blast-radius guard's table and cap: a contain
// function without them refuses to start (no automatic containment unguarded).
func readGuard(getenv func(string) string, c *Config, bad func(name, format string, args ...any)) {
	c.MaxAutomatic, c.GuardWindow = contract.DefaultMaxAutomaticContainments, contract.DefaultGuardWindowMinutes*time.Minute
	c.GuardTable = strings.TrimSpace(getenv(contract.EnvGuardTable))
	switch {
	case c.GuardTable == "":
		bad(contract.EnvGuardTable, "required: the DynamoDB table of the blast-radius guard (no automatic containment without it)")
	case !tableName.MatchString(c.GuardTable):
		bad(contract.EnvGuardTable, "%q is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)", c.GuardTable)
	}
	positive := func(name string, limit int, dst *int) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > limit {
			bad(name, "%q is not a whole number from 1 to %d", v, limit)
			return
		}
		*dst = n
	}
	positive(contract.EnvMaxAutomaticContainment, contract.MaxAutomaticContainmentsLimit, &c.MaxAutomatic)
	minutes := int(c.GuardWindow / time.Minute)
	positive(contract.EnvGuardWindowMinutes, contract.GuardWindowMinutesLimit, &minutes)
	c.GuardWindow = time.Duration(minutes) * time.Minute
}

// members reads the accounts besides its own the function serves.
func members(getenv func(string) string, c *Config, bad func(name, format string, args ...any)) {
	seen := map[string]bool{}
	for a := range strings.SplitSeq(getenv(contract.EnvMemberAccounts), ",") {
		switch a = strings.TrimSpace(a); {
		case a == "":
		case !accountID.MatchString(a):
			bad(contract.EnvMemberAccounts, "%q is not a 12-digit account id", a)
		case seen[a]:
			bad(contract.EnvMemberAccounts, "%s is listed twice", a)
		case a == c.AccountID:
			bad(contract.EnvMemberAccounts, "%s is the function's own account, which needs no member role", a)
		default:
			seen[a] = true
			c.MemberAccounts = append(c.MemberAccounts, a)
		}
	}
	if v := strings.TrimSpace(getenv(contract.EnvOrganization)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad(contract.EnvOrganization, "%q is not true or false", v)
		}
		c.Organization = b
	}
	if c.Organization && len(c.MemberAccounts) > 0 {
		bad(contract.EnvMemberAccounts, "set it or %s=true, not both: the organization already admits every account", contract.EnvOrganization)
	}
	c.MemberRole = contract.DefaultMemberRole
	if v := strings.TrimSpace(getenv(contract.EnvMemberRole)); v != "" {
		if !validName(roleName, v, 1, 64) {
			bad(contract.EnvMemberRole, "%q is not an IAM role name", v)
		}
		c.MemberRole = v
	}
}
