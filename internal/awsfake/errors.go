package awsfake

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/smithy-go"
)

// apiError is how AWS errors reach SDK callers: a code and a message.
func apiError(code, format string, args ...any) error {
	return &smithy.GenericAPIError{Code: code, Message: fmt.Sprintf(format, args...), Fault: smithy.FaultClient}
}

func errDryRun() error {
	return apiError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
}

func errMissing(param string) error {
	return apiError("MissingParameter", "The request must contain the parameter %s", param)
}

// callerARN is the identity the fake says is calling: the function's role session.
func (w *World) callerARN() string {
	return fmt.Sprintf("arn:aws:sts::%s:assumed-role/firebreak-contain/firebreak-contain", w.account)
}

// denial is an IAM implicit deny, spelled the way each service spells it.
func (w *World) denial(svc service, op string) error {
	action := string(svc) + ":" + op
	switch svc {
	case svcEC2:
		return apiError("UnauthorizedOperation",
			"You are not authorized to perform this operation. User: %s is not authorized to perform: %s because no identity-based policy allows the %s action",
			w.callerARN(), action, action)
	case svcSNS:
		return apiError("AuthorizationError",
			"User: %s is not authorized to perform: SNS:%s because no identity-based policy allows the SNS:%s action",
			w.callerARN(), op, op)
	case svcDynamoDB:
		return apiError("AccessDeniedException",
			"User: %s is not authorized to perform: %s on resource: arn:aws:dynamodb:%s:%s:table/* because no identity-based policy allows the %s action",
			w.callerARN(), action, w.region, w.account, action)
	case svcSecurityHub:
		// JSON services spell it with the Exception suffix.
		return apiError("AccessDeniedException",
			"User: %s is not authorized to perform: %s on resource: arn:aws:securityhub:%s:%s:hub/default because no identity-based policy allows the %s action",
			w.callerARN(), action, w.region, w.account, action)
	default:
		return apiError("AccessDenied",
			"User: %s is not authorized to perform: %s because no identity-based policy allows the %s action",
			w.callerARN(), action, action)
	}
}

// EC2 ids are a prefix and 8 (older) or 17 hex digits.
var idPattern = regexp.MustCompile(`^([a-z-]+)-([0-9a-f]{8}|[0-9a-f]{17})$`)

func wellFormed(prefix, id string) bool {
	m := idPattern.FindStringSubmatch(id)
	return m != nil && m[1] == prefix
}

// notFound words a missing-resource error as EC2 does for one or several ids.
func notFound(code, noun string, ids []string) error {
	if len(ids) == 1 {
		return apiError(code, "The %s ID '%s' does not exist", noun, ids[0])
	}
	return apiError(code, "The %s IDs '%s' do not exist", noun, strings.Join(ids, ", "))
}

func errInstanceNotFound(ids ...string) error {
	return notFound("InvalidInstanceID.NotFound", "instance", ids)
}

func errInstanceMalformed(id string) error {
	return apiError("InvalidInstanceID.Malformed", "Invalid id: %q", id)
}

func errGroupNotFound(id string) error {
	return apiError("InvalidGroup.NotFound", "The security group '%s' does not exist", id)
}

func errGroupMalformed(id string) error {
	return apiError("InvalidGroupId.Malformed", "Invalid id: %q (expecting \"sg-...\")", id)
}

func errENINotFound(id string) error {
	return notFound("InvalidNetworkInterfaceID.NotFound", "network interface", []string{id})
}

func errENIMalformed(id string) error {
	return apiError("InvalidNetworkInterfaceID.Malformed", "Invalid id: %q (expecting \"eni-...\")", id)
}

func errRuleNotFound(id string) error {
	return apiError("InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '%s' does not exist", id)
}

func errVolumeNotFound(id string) error {
	return apiError("InvalidVolume.NotFound", "The volume '%s' does not exist.", id)
}

func errSnapshotNotFound(id string) error {
	return apiError("InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", id)
}

func errNACLNotFound(id string) error {
	return apiError("InvalidNetworkAclID.NotFound", "The network ACL ID '%s' does not exist", id)
}

func errBadMaxResults(v int32, lo, hi int) error {
	return apiError("InvalidParameterValue",
		"Value ( %d ) for parameter maxResults is invalid. Expecting a value between %d and %d.", v, lo, hi)
}

func errBadToken() error {
	return apiError("InvalidPaginationToken", "The pagination token is invalid.")
}

// validationError is the Auto Scaling and ELB spelling of a bad parameter.
func validationError(format string, args ...any) error {
	return apiError("ValidationError", format, args...)
}

// oneAttribute enforces the Modify*Attribute rule, exactly one attribute per
// call, and names that attribute.
func oneAttribute(present map[string]bool) (string, error) {
	var set []string
	for name, ok := range present {
		if ok {
			set = append(set, name)
		}
	}
	slices.Sort(set)
	switch {
	case len(set) == 0:
		return "", apiError("InvalidParameterCombination", "No attributes specified.")
	case len(set) > 1:
		return "", apiError("InvalidParameterCombination", "Fields for multiple attribute types specified: %s", strings.Join(set, ", "))
	}
	return set[0], nil
}
