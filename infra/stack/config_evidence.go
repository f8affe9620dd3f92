package stack

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// Context keys of the locked evidence snapshots and the Security Hub
// write-back. The lock's duration is evidenceRetentionDays, whose range
// (1-36500) is EBS snapshot lock's too.
const (
	KeySnapshotLockMode         = "snapshotLockMode"
	KeySnapshotLockCoolOffHours = "snapshotLockCoolOffHours"
	KeySecurityHubWriteBack     = "securityHubWriteBack"
)

var (
	snapshotLockModes     = []string{contract.SnapshotLockGovernance, contract.SnapshotLockCompliance, contract.SnapshotLockNone}
	securityHubWriteBacks = []string{contract.SecurityHubAuto, contract.SecurityHubCSPM, contract.SecurityHubV2, contract.SecurityHubOff}
)

// maxCoolOffHours is LockSnapshot's limit on CoolOffPeriod.
const maxCoolOffHours = 72

func (c *Config) readEvidence(read func(key string, parse func(any) error)) {
	lower := func(dst *string) func(any) error {
		return func(v any) error {
			s, err := toString(v)
			*dst = strings.ToLower(s)
			return err
		}
	}
	read(KeySnapshotLockMode, lower(&c.SnapshotLockMode))
	read(KeySnapshotLockCoolOffHours, func(v any) (err error) { c.SnapshotLockCoolOffHours, err = toInt(v); return })
	read(KeySecurityHubWriteBack, lower(&c.SecurityHubWriteBack))
}

func (c Config) validateEvidence() []error {
	var errs []error
	if !slices.Contains(snapshotLockModes, c.SnapshotLockMode) {
		errs = append(errs, fmt.Errorf("context %s: %q is not one of %s", KeySnapshotLockMode, c.SnapshotLockMode, strings.Join(snapshotLockModes, ", ")))
	}
	if c.SnapshotLockCoolOffHours < 0 || c.SnapshotLockCoolOffHours > maxCoolOffHours {
		errs = append(errs, fmt.Errorf("context %s: %d is outside 0-%d hours", KeySnapshotLockCoolOffHours, c.SnapshotLockCoolOffHours, maxCoolOffHours))
	}
	if !slices.Contains(securityHubWriteBacks, c.SecurityHubWriteBack) {
		errs = append(errs, fmt.Errorf("context %s: %q is not one of %s", KeySecurityHubWriteBack, c.SecurityHubWriteBack, strings.Join(securityHubWriteBacks, ", ")))
	}
	return errs
}

// coolOffHours is the cooling-off period the function is given: only
// compliance mode has one.
func (c Config) coolOffHours() int {
	if c.SnapshotLockMode != contract.SnapshotLockCompliance {
		return 0
	}
	return c.SnapshotLockCoolOffHours
}

func (c Config) evidenceEnvironment() map[string]string {
	return map[string]string{
		contract.EnvSnapshotLockMode:         c.SnapshotLockMode,
		contract.EnvSnapshotLockDays:         strconv.Itoa(c.EvidenceRetentionDays),
		contract.EnvSnapshotLockCoolOffHours: strconv.Itoa(c.coolOffHours()),
		contract.EnvSecurityHubWriteBack:     c.SecurityHubWriteBack,
	}
}
