package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// Context keys read from cdk.json or `cdk -c key=value`. Values given with -c
// arrive as strings, values from cdk.json as JSON: both are accepted.
const (
	KeyNotifyMinSeverity     = "notifyMinSeverity"
	KeyContainMinSeverity    = "containMinSeverity"
	KeyFindingTypePrefixes   = "findingTypePrefixes"
	KeyNotifyEmail           = "notifyEmail"
	KeyDryRun                = "dryRun"
	KeyIsolationMode         = "isolationMode"
	KeyCredentialFindings    = "credentialFindings"
	KeyEvidenceRetentionDays = "evidenceRetentionDays"
	KeyObjectLockMode        = "objectLockMode"
	KeyLogRetentionDays      = "logRetentionDays"
	KeyLogLevel              = "logLevel"
	KeyReservedConcurrency   = "reservedConcurrency"
	KeySecurityHubAction     = "securityHubAction"
	KeyBootstrapDir          = "bootstrapDir"
	KeyFindingAgeAlarm       = "findingAgeAlarmMinutes"
	KeyVerifyEverySeconds    = "verifyEverySeconds"

	// The organization: which accounts besides the security account the
	// function acts in, and how the member role reaches them.
	KeyMemberAccounts        = "memberAccounts"
	KeyOrganization          = "organization"
	KeyOrganizationID        = "organizationId"
	KeyMemberRoleName        = "memberRoleName"
	KeySecurityAccountID     = "securityAccountId"
	KeyRegions               = "regions"
	KeyMemberDeployment      = "memberDeployment"
	KeyOrganizationalUnitIDs = "organizationalUnitIds"

	// KeySecurityHubReleaseAction adds the Security Hub release action:
	// off by default, since a release from the console reopens an instance.
	KeySecurityHubReleaseAction = "securityHubReleaseAction"

	// The blast-radius guard: at most maxAutomaticContainments automatic
	// containments per account and Region in any guardWindowMinutes.
	KeyMaxAutomaticContainments = "maxAutomaticContainments"
	KeyGuardWindowMinutes       = "guardWindowMinutes"
)

// How the member stack reaches the member accounts (KeyMemberDeployment).
const (
	// MemberDeploymentCDK: `make deploy-member` in each member account.
	MemberDeploymentCDK = "cdk"
	// MemberDeploymentStackSet: a service-managed StackSet, created by the
	// security account's stack, deploys it to the organizational units.
	MemberDeploymentStackSet = "stackset"
)

// Object Lock modes of the evidence bucket.
const (
	ObjectLockGovernance = "GOVERNANCE"
	ObjectLockCompliance = "COMPLIANCE"
)

// Config is everything a deployment can choose. Defaults are the safe choice:
// observe only, security groups only, governance-mode lock.
type Config struct {
	// NotifyMinSeverity is the EventBridge rule's threshold: findings below it
	// never invoke the function. The function reports findings at or above it.
	NotifyMinSeverity float64
	// ContainMinSeverity is the severity from which the function contains.
	ContainMinSeverity float64
	// FindingTypePrefixes, when not empty, limits the rule to these finding types.
	FindingTypePrefixes []string
	NotifyEmail         string
	DryRun              bool
	IsolationMode       string
	// CredentialFindings is what an instance-credential exfiltration finding
	// leads to: contain, credentials-only or notify.
	CredentialFindings string
	// EvidenceRetentionDays is the Object Lock default retention and the age at
	// which the lifecycle rule expires evidence.
	EvidenceRetentionDays int
	ObjectLockMode        string
	LogRetentionDays      int
	LogLevel              string
	ReservedConcurrency   int
	// SecurityHubAction adds the custom action; CreateActionTarget fails in an
	// account or Region where Security Hub is not enabled.
	SecurityHubAction bool
	// SecurityHubReleaseAction adds the release action and its rule.
	SecurityHubReleaseAction bool
	// BootstrapDir, when set, holds a prebuilt linux/arm64 `bootstrap` (from
	// `make build`) used instead of building functions/contain at synth time.
	BootstrapDir string
	// FindingAgeAlarmMinutes: a GuardDuty finding reaching the function this
	// long after its last update means the EventBridge path is failing.
	FindingAgeAlarmMinutes int
	// VerifyEverySeconds is the sweep's period (whole minutes); 0: no sweep.
	VerifyEverySeconds int

	// MemberAccounts are the accounts the function acts in besides its own;
	// Organization admits every account of the organization OrganizationID.
	// Neither: a single-account deployment, exactly as before.
	MemberAccounts []string
	Organization   bool
	OrganizationID string
	// MemberRoleName is the member role in every member account.
	MemberRoleName string
	// SecurityAccountID is the account the Firebreak stacks run in; the
	// member stack, deployed elsewhere, trusts its function roles.
	SecurityAccountID string
	// Regions are where the Firebreak stack is deployed, one stack each
	// (GuardDuty findings are regional); empty: the CLI's Region.
	Regions []string
	// MemberDeployment is MemberDeploymentCDK or MemberDeploymentStackSet,
	// the latter to OrganizationalUnitIDs.
	MemberDeployment      string
	OrganizationalUnitIDs []string
	// MaxAutomaticContainments and GuardWindowMinutes are the blast-radius
	// guard's cap: a person's request is never capped.
	MaxAutomaticContainments int
	GuardWindowMinutes       int
	// SnapshotLockMode locks evidence snapshots for EvidenceRetentionDays
	// (contract.SnapshotLock*); SnapshotLockCoolOffHours is the compliance
	// mode's cooling-off period.
	SnapshotLockMode         string
	SnapshotLockCoolOffHours int
	// SecurityHubWriteBack is contract.SecurityHubAuto, CSPM, V2 or Off.
	SecurityHubWriteBack string
}

// MultiAccount reports whether the function acts in member accounts.
func (c Config) MultiAccount() bool { return c.Organization || len(c.MemberAccounts) > 0 }

// DefaultConfig returns the configuration used when the context says nothing.
func DefaultConfig() Config {
	return Config{
		NotifyMinSeverity:     4,
		ContainMinSeverity:    7,
		DryRun:                true,
		IsolationMode:         contract.IsolationSG,
		CredentialFindings:    contract.CredentialFindingsContain,
		EvidenceRetentionDays: 90,
		ObjectLockMode:        ObjectLockGovernance,
		LogRetentionDays:      365,
		LogLevel:              "info",
		ReservedConcurrency:   5,
		SecurityHubAction:     true,
		// EventBridge delivers within seconds; its retries and Lambda's
		// asynchronous queue stay within minutes unless something is wrong.
		FindingAgeAlarmMinutes:   15,
		VerifyEverySeconds:       contract.DefaultVerifyEverySeconds,
		MemberRoleName:           contract.DefaultMemberRole,
		MemberDeployment:         MemberDeploymentCDK,
		MaxAutomaticContainments: contract.DefaultMaxAutomaticContainments,
		GuardWindowMinutes:       contract.DefaultGuardWindowMinutes,
		SnapshotLockMode:         contract.SnapshotLockGovernance,
		SnapshotLockCoolOffHours: 24,
		SecurityHubWriteBack:     contract.SecurityHubAuto,
	}
}

// ContextKeys lists every key ParseConfig reads.
func ContextKeys() []string {
	return []string{
		KeyNotifyMinSeverity, KeyContainMinSeverity, KeyFindingTypePrefixes, KeyNotifyEmail,
		KeyDryRun, KeyIsolationMode, KeyCredentialFindings, KeyEvidenceRetentionDays, KeyObjectLockMode,
		KeyLogRetentionDays, KeyLogLevel, KeyReservedConcurrency, KeySecurityHubAction,
		KeyBootstrapDir, KeyFindingAgeAlarm, KeyVerifyEverySeconds, KeySecurityHubReleaseAction,
		KeyMemberAccounts, KeyOrganization, KeyOrganizationID, KeyMemberRoleName,
		KeySecurityAccountID, KeyRegions, KeyMemberDeployment, KeyOrganizationalUnitIDs, KeyMaxAutomaticContainments, KeyGuardWindowMinutes, KeySnapshotLockMode, KeySnapshotLockCoolOffHours, KeySecurityHubWriteBack,
	}
}

// logRetentions maps the retention periods CloudWatch Logs accepts to CDK's enum.
var logRetentions = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS,
	5: awslogs.RetentionDays_FIVE_DAYS, 7: awslogs.RetentionDays_ONE_WEEK,
	14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS,
	120: awslogs.RetentionDays_FOUR_MONTHS, 150: awslogs.RetentionDays_FIVE_MONTHS,
	180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS,
	731: awslogs.RetentionDays_TWO_YEARS, 1096: awslogs.RetentionDays_THREE_YEARS,
	1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS,
	3288: awslogs.RetentionDays_NINE_YEARS, 3653: awslogs.RetentionDays_TEN_YEARS,
}

var logLevels = []string{"debug", "info", "warn", "error"}

// A GuardDuty finding type is ThreatPurpose:ResourceTypeAffected/ThreatFamily.Detail;
// a prefix is any leading part of one.
var findingTypePrefix = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*(:[A-Za-z0-9!./_-]*)?$`)

var emailAddress = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// ParseConfig reads the configuration from context values (get returns nil for
// an unset key) and validates it.
func ParseConfig(get func(key string) any) (Config, error) {
	c := DefaultConfig()
	var errs []error
	read := func(key string, parse func(any) error) {
		v := get(key)
		if v == nil {
			return
		}
		if s, ok := v.(string); ok && strings.TrimSpace(s) == "" && !emptyAllowed[key] {
			errs = append(errs, fmt.Errorf("context %s: empty value", key))
			return
		}
		if err := parse(v); err != nil {
			errs = append(errs, fmt.Errorf("context %s: %w", key, err))
		}
	}
	read(KeyNotifyMinSeverity, func(v any) (err error) { c.NotifyMinSeverity, err = toFloat(v); return })
	read(KeyContainMinSeverity, func(v any) (err error) { c.ContainMinSeverity, err = toFloat(v); return })
	read(KeyFindingTypePrefixes, func(v any) (err error) { c.FindingTypePrefixes, err = toStrings(v); return })
	read(KeyNotifyEmail, func(v any) (err error) { c.NotifyEmail, err = toString(v); return })
	read(KeyDryRun, func(v any) (err error) { c.DryRun, err = toBool(v); return })
	read(KeyIsolationMode, func(v any) (err error) { c.IsolationMode, err = toString(v); return })
	read(KeyCredentialFindings, func(v any) (err error) { c.CredentialFindings, err = toString(v); return })
	read(KeyEvidenceRetentionDays, func(v any) (err error) { c.EvidenceRetentionDays, err = toInt(v); return })
	read(KeyObjectLockMode, func(v any) (err error) {
		c.ObjectLockMode, err = toString(v)
		c.ObjectLockMode = strings.ToUpper(c.ObjectLockMode)
		return
	})
	read(KeyLogRetentionDays, func(v any) (err error) { c.LogRetentionDays, err = toInt(v); return })
	read(KeyLogLevel, func(v any) (err error) {
		c.LogLevel, err = toString(v)
		c.LogLevel = strings.ToLower(c.LogLevel)
		return
	})
	read(KeyReservedConcurrency, func(v any) (err error) { c.ReservedConcurrency, err = toInt(v); return })
	read(KeySecurityHubAction, func(v any) (err error) { c.SecurityHubAction, err = toBool(v); return })
	read(KeyBootstrapDir, func(v any) (err error) { c.BootstrapDir, err = toString(v); return })
	read(KeyFindingAgeAlarm, func(v any) (err error) { c.FindingAgeAlarmMinutes, err = toInt(v); return })
	read(KeyVerifyEverySeconds, func(v any) (err error) { c.VerifyEverySeconds, err = toInt(v); return })
	read(KeyMemberAccounts, func(v any) (err error) { c.MemberAccounts, err = toStrings(v); return })
	read(KeyOrganization, func(v any) (err error) { c.Organization, err = toBool(v); return })
	read(KeyOrganizationID, func(v any) (err error) { c.OrganizationID, err = toString(v); return })
	read(KeyMemberRoleName, func(v any) (err error) { c.MemberRoleName, err = toString(v); return })
	read(KeySecurityAccountID, func(v any) (err error) { c.SecurityAccountID, err = toString(v); return })
	read(KeyRegions, func(v any) (err error) { c.Regions, err = toStrings(v); return })
	read(KeyMemberDeployment, func(v any) (err error) {
		c.MemberDeployment, err = toString(v)
		c.MemberDeployment = strings.ToLower(c.MemberDeployment)
		return
	})
	read(KeyOrganizationalUnitIDs, func(v any) (err error) { c.OrganizationalUnitIDs, err = toStrings(v); return })
	read(KeySecurityHubReleaseAction, func(v any) (err error) { c.SecurityHubReleaseAction, err = toBool(v); return })
	read(KeyMaxAutomaticContainments, func(v any) (err error) { c.MaxAutomaticContainments, err = toInt(v); return })
	read(KeyGuardWindowMinutes, func(v any) (err error) { c.GuardWindowMinutes, err = toInt(v); return })
	c.readEvidence(read)
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate reports every setting AWS or the function would reject.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for key, sev := range map[string]float64{KeyNotifyMinSeverity: c.NotifyMinSeverity, KeyContainMinSeverity: c.ContainMinSeverity} {
		if sev < 1 || sev > 10 {
			bad("context %s: %v is outside GuardDuty's severity scale 1-10", key, sev)
		}
	}
	if c.NotifyMinSeverity > c.ContainMinSeverity {
		bad("context %s (%v) is above %s (%v): findings the function should contain would never reach it",
			KeyNotifyMinSeverity, c.NotifyMinSeverity, KeyContainMinSeverity, c.ContainMinSeverity)
	}
	seen := map[string]bool{}
	for _, p := range c.FindingTypePrefixes {
		if !findingTypePrefix.MatchString(p) {
			bad("context %s: %q is not a GuardDuty finding type prefix (for example Backdoor:EC2/)", KeyFindingTypePrefixes, p)
		}
		if seen[p] {
			bad("context %s: %q is listed twice", KeyFindingTypePrefixes, p)
		}
		seen[p] = true
	}
	if c.NotifyEmail != "" && !emailAddress.MatchString(c.NotifyEmail) {
		bad("context %s: %q is not an email address", KeyNotifyEmail, c.NotifyEmail)
	}
	switch c.CredentialFindings {
	case contract.CredentialFindingsContain, contract.CredentialFindingsOnly, contract.CredentialFindingsNotify:
	default:
		bad("context %s: %q is not %q, %q or %q", KeyCredentialFindings, c.CredentialFindings,
			contract.CredentialFindingsContain, contract.CredentialFindingsOnly, contract.CredentialFindingsNotify)
	}
	if c.IsolationMode != contract.IsolationSG && c.IsolationMode != contract.IsolationSGNACL {
		bad("context %s: %q is not %q or %q", KeyIsolationMode, c.IsolationMode, contract.IsolationSG, contract.IsolationSGNACL)
	}
	// S3 caps default retention at 100 years (36500 days).
	if c.EvidenceRetentionDays < 1 || c.EvidenceRetentionDays > 36500 {
		bad("context %s: %d is outside 1-36500 days", KeyEvidenceRetentionDays, c.EvidenceRetentionDays)
	}
	if c.ObjectLockMode != ObjectLockGovernance && c.ObjectLockMode != ObjectLockCompliance {
		bad("context %s: %q is not %s or %s", KeyObjectLockMode, c.ObjectLockMode, ObjectLockGovernance, ObjectLockCompliance)
	}
	if _, ok := logRetentions[c.LogRetentionDays]; !ok {
		bad("context %s: CloudWatch Logs accepts only %s days, not %d", KeyLogRetentionDays, allowedRetentions(), c.LogRetentionDays)
	}
	if !slices.Contains(logLevels, c.LogLevel) {
		bad("context %s: %q is not one of %s", KeyLogLevel, c.LogLevel, strings.Join(logLevels, ", "))
	}
	// Lambda keeps 100 unreserved executions per account, so a reservation
	// above 900 fails on every default quota.
	if c.ReservedConcurrency < 1 || c.ReservedConcurrency > 900 {
		bad("context %s: %d is outside 1-900", KeyReservedConcurrency, c.ReservedConcurrency)
	}
	// An event older than EventBridge's retries (1 h) plus Lambda's maximum
	// event age (1 h) never reaches the function: a higher threshold never fires.
	// EventBridge schedules in whole minutes; a day bounds how long drift can last.
	if v := c.VerifyEverySeconds; v != 0 && (v < 60 || v > 86400 || v%60 != 0) {
		bad("context %s: %d must be 0 (no sweep) or whole minutes from 60 to 86400 seconds", KeyVerifyEverySeconds, v)
	}
	if c.FindingAgeAlarmMinutes < 1 || c.FindingAgeAlarmMinutes > 120 {
		bad("context %s: %d is outside 1-120 minutes", KeyFindingAgeAlarm, c.FindingAgeAlarmMinutes)
	}
	errs = append(errs, c.validateOrganization()...)
	// The function refuses to start outside these (internal/config).
	if c.MaxAutomaticContainments < 1 || c.MaxAutomaticContainments > contract.MaxAutomaticContainmentsLimit {
		bad("context %s: %d is outside 1-%d", KeyMaxAutomaticContainments, c.MaxAutomaticContainments, contract.MaxAutomaticContainmentsLimit)
	}
	if c.GuardWindowMinutes < 1 || c.GuardWindowMinutes > contract.GuardWindowMinutesLimit {
		bad("context %s: %d is outside 1-%d minutes", KeyGuardWindowMinutes, c.GuardWindowMinutes, contract.GuardWindowMinutesLimit)
	}
	errs = append(errs, c.validateEvidence()...)
	return errors.Join(errs...)
}

// LogRetention is the CDK value of LogRetentionDays (validated before use).
func (c Config) LogRetention() awslogs.RetentionDays { return logRetentions[c.LogRetentionDays] }

// ObjectLockRetention is the evidence bucket's default retention.
func (c Config) objectLockRetention() awss3.ObjectLockRetention {
	days := durationDays(c.EvidenceRetentionDays)
	if c.ObjectLockMode == ObjectLockCompliance {
		return awss3.ObjectLockRetention_Compliance(days)
	}
	return awss3.ObjectLockRetention_Governance(days)
}

// Environment is what the function reads at start-up. The account spares the
// function an STS call on every cold start.
func (c Config) Environment(topicArn, bucketName, account string) map[string]string {
	env := map[string]string{
		contract.EnvTopicARN:           topicArn,
		contract.EnvEvidenceBucket:     bucketName,
		contract.EnvAccountID:          account,
		contract.EnvDryRun:             strconv.FormatBool(c.DryRun),
		contract.EnvContainMinSeverity: formatSeverity(c.ContainMinSeverity),
		contract.EnvNotifyMinSeverity:  formatSeverity(c.NotifyMinSeverity),
		contract.EnvIsolation:          c.IsolationMode,
		contract.EnvCredentialFindings: c.CredentialFindings,
	}
	if c.MultiAccount() {
		env[contract.EnvMemberRole] = c.MemberRoleName
		if c.Organization {
			env[contract.EnvOrganization] = "true"
		} else {
			env[contract.EnvMemberAccounts] = strings.Join(c.MemberAccounts, ",")
		}
	}
	maps.Copy(env, c.evidenceEnvironment())
	return env
}

// GuardEnvironment is what the function reads of the blast-radius guard.
func (c Config) GuardEnvironment(table string) map[string]string {
	return map[string]string{
		contract.EnvGuardTable:              table,
		contract.EnvMaxAutomaticContainment: strconv.Itoa(c.MaxAutomaticContainments),
		contract.EnvGuardWindowMinutes:      strconv.Itoa(c.GuardWindowMinutes),
	}
}

func formatSeverity(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func allowedRetentions() string {
	days := make([]int, 0, len(logRetentions))
	for d := range logRetentions {
		days = append(days, d)
	}
	sort.Ints(days)
	parts := make([]string, len(days))
	for i, d := range days {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, ", ")
}

func toString(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("want a string, got %T %v", v, v)
	}
	return strings.TrimSpace(s), nil
}

func toBool(v any) (bool, error) {
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		parsed, err := strconv.ParseBool(strings.TrimSpace(b))
		if err != nil {
			return false, fmt.Errorf("want true or false, got %q", b)
		}
		return parsed, nil
	}
	return false, fmt.Errorf("want true or false, got %T %v", v, v)
}

func toFloat(v any) (float64, error) {
	switch n := v.(type) {
	case float64:
		return n, nil
	case int:
		return float64(n), nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(n), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("want a number, got %q", n)
		}
		return f, nil
	}
	return 0, fmt.Errorf("want a number, got %T %v", v, v)
}

func toInt(v any) (int, error) {
	f, err := toFloat(v)
	if err != nil {
		return 0, err
	}
	if f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		return 0, fmt.Errorf("want a whole number, got %v", f)
	}
	return int(f), nil
}

// toStrings accepts a JSON list (cdk.json), a JSON list in a string, or a
// comma-separated string (-c findingTypePrefixes=Backdoor:EC2/,Trojan:EC2/).
func toStrings(v any) ([]string, error) {
	var raw []any
	switch l := v.(type) {
	case []any:
		raw = l
	case []string:
		for _, s := range l {
			raw = append(raw, s)
		}
	case string:
		s := strings.TrimSpace(l)
		if strings.HasPrefix(s, "[") {
			if err := json.Unmarshal([]byte(s), &raw); err != nil {
				return nil, fmt.Errorf("reading %q as a JSON list: %w", s, err)
			}
			break
		}
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				raw = append(raw, part)
			}
		}
	default:
		return nil, fmt.Errorf("want a list of strings, got %T %v", v, v)
	}
	out := make([]string, 0, len(raw))
	for _, item := range raw {
		s, ok := item.(string)
		if !ok || strings.TrimSpace(s) == "" {
			return nil, fmt.Errorf("want a list of non-empty strings, got %v", item)
		}
		out = append(out, strings.TrimSpace(s))
	}
	return out, nil
}

// MisspelledKeys returns, for every given key that differs from one of ours
// only in case, an error naming the intended key: `-c dryrun=false` would
// otherwise be ignored and leave the stack in a mode nobody chose.
func MisspelledKeys(keys []string) error {
	var errs []error
	for _, k := range keys {
		for _, ours := range ContextKeys() {
			if k != ours && strings.EqualFold(k, ours) {
				errs = append(errs, fmt.Errorf("context key %q is not read; did you mean %q?", k, ours))
			}
		}
	}
	return errors.Join(errs...)
}
