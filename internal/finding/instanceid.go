package finding

import (
	"regexp"
	"strings"
)

// EC2 instance ids are "i-" plus 8 (older) or 17 lowercase hex digits.
var instanceIDPattern = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)

// ValidInstanceID reports whether id has the shape of an EC2 instance id.
// A finding whose id fails this check is reported, never acted on.
func ValidInstanceID(id string) bool {
	return instanceIDPattern.MatchString(id)
}

// instanceIDFrom returns the instance id inside an EC2 instance ARN
// (arn:<partition>:ec2:<region>:<account>:instance/i-...), or s itself when it
// is not an ARN. ok is false for an ARN that does not name an instance.
func instanceIDFrom(s string) (id string, ok bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "arn:") {
		return s, s != ""
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[2] != "ec2" {
		return "", false
	}
	id, found := strings.CutPrefix(parts[5], "instance/")
	if !found || id == "" {
		return "", false
	}
	return id, true
}

// arnAccountRegion returns the account and Region fields of an ARN, or empty
// strings when s is not an ARN.
func arnAccountRegion(s string) (account, region string) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return "", ""
	}
	return parts[4], parts[3]
}
