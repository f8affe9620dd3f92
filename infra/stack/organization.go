package stack

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// emptyAllowed are the keys whose empty string means "none" (a -c value or
// cdk.json's defaults), not a mistake.
var emptyAllowed = map[string]bool{
	KeyNotifyEmail: true, KeyBootstrapDir: true, KeyFindingTypePrefixes: true, KeyMemberAccounts: true,
	KeyOrganizationID: true, KeySecurityAccountID: true, KeyRegions: true, KeyOrganizationalUnitIDs: true,
}

var (
	accountIDPattern = regexp.MustCompile(`^\d{12}$`)
	orgIDPattern     = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	ouIDPattern      = regexp.MustCompile(`^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$`)
	regionPattern    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	roleNamePattern  = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
)

// validateOrganization reports every organization setting that would not deploy.
func (c Config) validateOrganization() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	unique := func(key string, values []string, pattern *regexp.Regexp, what string) {
		for i, v := range values {
			if !pattern.MatchString(v) {
				bad("context %s: %q is not %s", key, v, what)
			}
			if slices.Index(values, v) != i {
				bad("context %s: %q is listed twice", key, v)
			}
		}
	}
	unique(KeyMemberAccounts, c.MemberAccounts, accountIDPattern, "a 12-digit account id")
	unique(KeyRegions, c.Regions, regionPattern, "a Region name (us-east-1)")
	unique(KeyOrganizationalUnitIDs, c.OrganizationalUnitIDs, ouIDPattern, "an organizational unit or root id (ou-ab12-cdef3456, r-ab12)")
	if !roleNamePattern.MatchString(c.MemberRoleName) {
		bad("context %s: %q is not an IAM role name", KeyMemberRoleName, c.MemberRoleName)
	}
	if c.OrganizationID != "" && !orgIDPattern.MatchString(c.OrganizationID) {
		bad("context %s: %q is not an organization id (o-...)", KeyOrganizationID, c.OrganizationID)
	}
	if c.SecurityAccountID != "" && !accountIDPattern.MatchString(c.SecurityAccountID) {
		bad("context %s: %q is not a 12-digit account id", KeySecurityAccountID, c.SecurityAccountID)
	}
	switch {
	case c.Organization && len(c.MemberAccounts) > 0:
		bad("context %s and %s: set one, not both (the organization admits every account)", KeyOrganization, KeyMemberAccounts)
	case c.Organization && c.OrganizationID == "":
		bad("context %s: required with %s=true; the member role's trust admits only callers of that organization", KeyOrganizationID, KeyOrganization)
	}
	if slices.Contains(c.MemberAccounts, c.SecurityAccountID) && c.SecurityAccountID != "" {
		bad("context %s: %s is the security account, which needs no member role", KeyMemberAccounts, c.SecurityAccountID)
	}
	if c.MultiAccount() {
		if c.SecurityAccountID == "" {
			bad("context %s: required with member accounts; the member stack trusts that account's Firebreak roles", KeySecurityAccountID)
		}
		if len(c.Regions) == 0 {
			bad("context %s: required with member accounts; the member role trusts the function of each Region listed", KeyRegions)
		}
	}
	switch c.MemberDeployment {
	case MemberDeploymentCDK:
		if len(c.OrganizationalUnitIDs) > 0 {
			bad("context %s: only read with %s=%s", KeyOrganizationalUnitIDs, KeyMemberDeployment, MemberDeploymentStackSet)
		}
	case MemberDeploymentStackSet:
		if !c.MultiAccount() {
			bad("context %s=%s: there are no member accounts (%s or %s)", KeyMemberDeployment, MemberDeploymentStackSet, KeyMemberAccounts, KeyOrganization)
		}
		if len(c.OrganizationalUnitIDs) == 0 {
			bad("context %s: required with %s=%s: the StackSet deploys the member stack to these", KeyOrganizationalUnitIDs, KeyMemberDeployment, MemberDeploymentStackSet)
		}
	default:
		bad("context %s: %q is not %q or %q", KeyMemberDeployment, c.MemberDeployment, MemberDeploymentCDK, MemberDeploymentStackSet)
	}
	return errs
}

// trustedFunctions are the Firebreak functions whose roles the member role
// trusts: the contain function, and the release function undoing its work.
var trustedFunctions = []string{"contain", "release"}

// FunctionRoleName is the fixed name of a function's role in a Region, given
// in multi-account deployments so that member roles can trust it by ARN
// before it exists.
func FunctionRoleName(function, region string) string { return "firebreak-" + function + "-" + region }

// functionRoleName is the role name a function gets in its stack's Region
// when member roles trust it, nil (a generated name) otherwise.
func functionRoleName(scope constructs.Construct, cfg Config, function string) *string {
	if !cfg.MultiAccount() {
		return nil
	}
	return jsii.String(FunctionRoleName(function, *awscdk.Stack_Of(scope).Region()))
}

// memberRoleARN is the member role's ARN in account ("*" for any).
func memberRoleARN(cfg Config, account string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role/%s", *awscdk.Aws_PARTITION(), account, cfg.MemberRoleName)
}

// assumeMemberRoles lets the contain function assume the member role: in the
// listed accounts, or in any account of the organization (aws:ResourceOrgID),
// never elsewhere.
func assumeMemberRoles(cfg Config) awsiam.PolicyStatement {
	if cfg.Organization {
		return allow("AssumeMemberRoles", []string{"sts:AssumeRole"}, []string{memberRoleARN(cfg, "*")},
			map[string]any{"StringEquals": map[string]any{"aws:ResourceOrgID": cfg.OrganizationID}})
	}
	arns := make([]string, len(cfg.MemberAccounts))
	for i, a := range cfg.MemberAccounts {
		arns[i] = memberRoleARN(cfg, a)
	}
	return allow("AssumeMemberRoles", []string{"sts:AssumeRole"}, arns, nil)
}

// newMemberRoleAlarm pages the report topic when a member account's role
// could not be assumed: findings there are only reported until someone
// deploys the member stack. The function reports the count in each report
// (memberRoleMissing), which becomes the metric.
func newMemberRoleAlarm(scope constructs.Construct, topic awssns.ITopic) {
	newCountAlarm(scope, "MemberRoleMissingAlarm", contract.MetricMemberRoleMissing,
		"Firebreak: a finding's member account has no member role Firebreak can assume; deploy the member stack there", topic)
}

// newCountAlarm pages the report topic when a count the function emits
// (without dimensions) is at least one in five minutes.
func newCountAlarm(scope constructs.Construct, id, metricName, description string, topic awssns.ITopic) awscloudwatch.Alarm {
	metric := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:  jsii.String(contract.MetricNamespace),
		MetricName: jsii.String(metricName),
		Statistic:  jsii.String("Sum"),
		Period:     awscdk.Duration_Minutes(jsii.Number(5)),
	})
	a := metric.CreateAlarm(scope, jsii.String(id), &awscloudwatch.CreateAlarmOptions{
		AlarmDescription:   jsii.String(description),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	a.AddAlarmAction(&topicAction{topic: topic})
	return a
}

// requireSecurityAccount stops a deployment into any account but the one
// the member roles trust.
func requireSecurityAccount(stack awscdk.Stack, cfg Config) {
	awscdk.NewCfnRule(stack, jsii.String("DeployedInTheSecurityAccount"), &awscdk.CfnRuleProps{
		Assertions: &[]*awscdk.CfnRuleAssertion{{
			Assert:            awscdk.Fn_ConditionEquals(awscdk.Aws_ACCOUNT_ID(), jsii.String(cfg.SecurityAccountID)),
			AssertDescription: jsii.String(fmt.Sprintf("Firebreak's member roles trust the security account %s (%s): deploy this stack there", cfg.SecurityAccountID, KeySecurityAccountID)),
		}},
	})
}

// acknowledgeActionTarget answers the template validator, whose regional
// data lists AWS::SecurityHub::ActionTarget in a few Regions only (it
// cannot tell in an environment-agnostic stack). Where CloudFormation does
// refuse it, securityHubAction=false leaves it out.
func acknowledgeActionTarget(stack awscdk.Stack) {
	if action := stack.Node().TryFindChild(jsii.String("ContainAction")); action != nil {
		awscdk.Validations_Of(action).Acknowledge(&awscdk.Acknowledgment{Id: jsii.String("CloudFormation-Validate::F3006"),
			Reason: jsii.String("Security Hub custom actions exist wherever Security Hub runs; set securityHubAction=false where it does not")})
	}
}
