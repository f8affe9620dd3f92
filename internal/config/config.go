// Package config reads Firebreak's settings from the environment, once, at start.
package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

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
	// AccountID is the account the function runs in; empty means "ask STS".
	AccountID string
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

// NACL reports whether the network-ACL hard cut is on.
func (c Config) NACL() bool { return c.Isolation == contract.IsolationSGNACL }

var (
	topicARN  = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)
	bucket    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	accountID = regexp.MustCompile(`^\d{12}$`)
)

// FromEnv reads and validates the configuration. Every problem is reported at
// once, each naming the variable, so a bad deployment fails with one clear message.
func FromEnv(getenv func(string) string) (Config, error) {
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
	case !topicARN.MatchString(c.TopicARN):
		bad(contract.EnvTopicARN, "%q is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)", c.TopicARN)
	}
	c.EvidenceBucket = strings.TrimSpace(getenv(contract.EnvEvidenceBucket))
	switch {
	case c.EvidenceBucket == "":
		bad(contract.EnvEvidenceBucket, "required: the S3 bucket the pre-change evidence is written to")
	case !bucket.MatchString(c.EvidenceBucket):
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
	errs = append(errs, readEvidenceSettings(getenv, &c)...)
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid configuration: %w", errors.Join(errs...))
	}
	return c, nil
}
