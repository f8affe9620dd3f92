package notify

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// regionPattern is the shape of an AWS Region name (us-east-1, us-gov-west-1,
// cn-north-1): only such names go into links and commands.
var regionPattern = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$`)

// consoleDomain is the AWS Management Console's domain in the Region's
// partition; "" where there is no public console (ISO partitions) or the
// partition is not one Firebreak knows.
func consoleDomain(region string) string {
	switch {
	case !regionPattern.MatchString(region):
		return ""
	case strings.HasPrefix(region, "cn-"):
		return "console.amazonaws.cn" // aws-cn
	case strings.HasPrefix(region, "us-gov-"):
		return "console.amazonaws-us-gov.com" // aws-us-gov
	case strings.HasPrefix(region, "us-iso"), strings.HasPrefix(region, "eusc-"):
		return ""
	}
	return "console.aws.amazon.com" // aws
}

type link struct{ label, url string }

// consoleLinks points at the finding in the GuardDuty console and at the
// instance in the EC2 console, in the finding's Region and partition. Only
// ids that match AWS's formats are linked.
func consoleLinks(r *report.Report) []link {
	reg := region(r)
	domain := consoleDomain(reg)
	if domain == "" {
		return nil
	}
	base := fmt.Sprintf("https://%s.%s", reg, domain)
	var out []link
	if f := r.Finding; f != nil && r.Source != "manual" && validFindingID(f.ID) && !f.Sample {
		out = append(out, link{"GuardDuty finding", fmt.Sprintf("%s/guardduty/home?region=%s#/findings?macros=current&fId=%s", base, reg, url.QueryEscape(f.ID))})
	}
	ids := r.Instances
	if r.InstanceID != "" {
		ids = []string{r.InstanceID}
	}
	for i, id := range ids {
		if i == maxListed {
			break
		}
		if instanceIDPattern.MatchString(id) && !(r.Finding != nil && r.Finding.Sample) {
			out = append(out, link{"EC2 instance", fmt.Sprintf("%s/ec2/home?region=%s#InstanceDetails:instanceId=%s", base, reg, id)})
		}
	}
	return out
}

// invokeCommand sends a payload (a quoted JSON document, or file://...) to
// one of the stack's functions, found by its stack output, from a shell with
// credentials for the account. Payloads are built from validated ids only, so
// they hold no single quote.
func invokeCommand(output, region, payload string) string {
	flag := ""
	if regionPattern.MatchString(region) {
		flag = " --region " + region
	}
	function := fmt.Sprintf(`"$(aws cloudformation describe-stacks%s --stack-name %s --query "Stacks[0].Outputs[?OutputKey=='%s'].OutputValue" --output text)"`,
		flag, contract.StackName, output)
	return fmt.Sprintf("aws lambda invoke%s --function-name %s --cli-binary-format raw-in-base64-out --payload %s response.json",
		flag, function, payload)
}

// releaseCommand asks the release function to undo the containment of id
// from its evidence.
func releaseCommand(id string, r *report.Report) string {
	return invokeCommand(contract.OutputReleaseFunction, region(r), "'"+request(id, "release after the investigation", r, false)+"'")
}

// containCommand asks the contain function to contain id (or plan it).
func containCommand(id string, r *report.Report, dryRun bool) string {
	return invokeCommand(contract.OutputContainFunction, region(r), "'"+request(id, "manual containment after review", r, dryRun)+"'")
}
