package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// EBS snapshot lock limits (LockSnapshot): a duration of 1-36500 days, a
// compliance cooling-off period of 1-72 hours.
const (
	maxLockDays     = 36500
	maxCoolOffHours = 72
)

// readEvidenceSettings reads the snapshot lock and the Security Hub
// write-back, one error per bad variable.
func readEvidenceSettings(getenv func(string) string, c *Config) []error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	oneOf := func(name string, dst *string, allowed ...string) {
		v := strings.ToLower(strings.TrimSpace(getenv(name)))
		if v == "" {
			return
		}
		if !slices.Contains(allowed, v) {
			bad(name, "%q is not one of %s", v, strings.Join(allowed, ", "))
			return
		}
		*dst = v
	}
	number := func(name string, dst *int32, lo, hi int) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			bad(name, "%q is not a whole number from %d to %d", v, lo, hi)
			return
		}
		*dst = int32(n)
	}
	oneOf(contract.EnvSnapshotLockMode, &c.SnapshotLock.Mode, contract.SnapshotLockGovernance, contract.SnapshotLockCompliance, contract.SnapshotLockNone)
	number(contract.EnvSnapshotLockDays, &c.SnapshotLock.Days, 1, maxLockDays)
	number(contract.EnvSnapshotLockCoolOffHours, &c.SnapshotLock.CoolOffHours, 0, maxCoolOffHours)
	if c.SnapshotLock.CoolOffHours > 0 && c.SnapshotLock.Mode != contract.SnapshotLockCompliance {
		bad(contract.EnvSnapshotLockCoolOffHours, "%d hours, but a cooling-off period exists only in %s mode (the mode is %s)",
			c.SnapshotLock.CoolOffHours, contract.SnapshotLockCompliance, c.SnapshotLock.Mode)
	}
	oneOf(contract.EnvSecurityHubWriteBack, &c.SecurityHub, contract.SecurityHubAuto, contract.SecurityHubCSPM, contract.SecurityHubV2, contract.SecurityHubOff)
	return errs
}
