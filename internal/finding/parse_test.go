package finding_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/finding"
)

const victim = "i-0abc1234def567890"

// gdEvent wraps a detail in a GuardDuty EventBridge envelope.
func gdEvent(detailType, detail string) string {
	return `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"` + detailType +
		`","source":"aws.guardduty","account":"111122223333","time":"2026-11-20T10:13:02Z","region":"eu-west-1","resources":[],"detail":` + detail + `}`
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		is      error
		message string
	}{
		{"empty", "", finding.ErrUnrecognized, "empty payload"},
		{"blank", " \n\t", finding.ErrUnrecognized, "empty payload"},
		{"not JSON", "contain i-0abc1234def567890 please", finding.ErrUnrecognized, "not JSON"},
		{"truncated", `{"instanceId":"i-0abc1234def567890"`, finding.ErrUnrecognized, "not JSON"},
		{"array", `[{"instanceId":"i-0abc1234def567890","reason":"x","dryRun":false}]`, finding.ErrUnrecognized, "JSON array"},
		{"string", `"i-0abc1234def567890"`, finding.ErrUnrecognized, "JSON string"},
		{"number", `42`, finding.ErrUnrecognized, "JSON number"},
		{"null", `null`, finding.ErrUnrecognized, "JSON null"},
		{"empty object", `{}`, finding.ErrUnrecognized, "empty object"},
		{"unknown source", strings.Replace(gdEvent("GuardDuty Finding", `{}`), "aws.guardduty", "aws.inspector2", 1), finding.ErrUnrecognized, `unsupported event source "aws.inspector2"`},
		{"envelope without source", `{"detail-type":"GuardDuty Finding","detail":{}}`, finding.ErrUnrecognized, "no source"},
		{"envelope with a numeric source", `{"source":7,"detail":{}}`, finding.ErrUnrecognized, "envelope"},
		{"finding without detail", gdEvent("GuardDuty Finding", `null`), finding.ErrInvalid, "no detail"},
		{"finding detail is a string", gdEvent("GuardDuty Finding", `"Backdoor:EC2/C&CActivity.B"`), finding.ErrInvalid, "decoding GuardDuty finding"},
		{"findings array instead of one finding", gdEvent("GuardDuty Finding", `{"findings":[{"Type":"Backdoor:EC2/C&CActivity.B"}]}`), finding.ErrInvalid, "ONE finding"},
		{"severity as a word", gdEvent("GuardDuty Finding", `{"type":"Backdoor:EC2/C&CActivity.B","severity":"HIGH"}`), finding.ErrInvalid, "decoding GuardDuty finding"},
		{"custom action with findings not a list", `{"source":"aws.securityhub","detail-type":"Security Hub Findings - Custom Action","detail":{"findings":{}}}`, finding.ErrInvalid, "custom action"},
		{"custom action without detail", `{"source":"aws.securityhub","detail-type":"Security Hub Findings - Custom Action"}`, finding.ErrInvalid, "no detail"},

		// Manual requests: strict.
		{"typo dryrun", `{"instanceId":"i-0abc1234def567890","reason":"x","dryrun":true}`, finding.ErrInvalid, `unknown field "dryrun" (did you mean "dryRun"?)`},
		{"typo DryRun", `{"instanceId":"i-0abc1234def567890","reason":"x","DryRun":true}`, finding.ErrInvalid, `did you mean "dryRun"`},
		{"typo instanceID", `{"instanceID":"i-0abc1234def567890","reason":"x","dryRun":true}`, finding.ErrInvalid, `did you mean "instanceId"`},
		{"unknown field", `{"instanceId":"i-0abc1234def567890","reason":"x","dryRun":true,"force":true}`, finding.ErrInvalid, `unknown field "force"`},
		{"dryRun missing", `{"instanceId":"i-0abc1234def567890","reason":"x"}`, finding.ErrInvalid, "dryRun is required"},
		{"dryRun a string", `{"instanceId":"i-0abc1234def567890","reason":"x","dryRun":"true"}`, finding.ErrInvalid, "JSON boolean"},
		{"dryRun a number", `{"instanceId":"i-0abc1234def567890","reason":"x","dryRun":0}`, finding.ErrInvalid, "JSON boolean"},
		{"dryRun null", `{"instanceId":"i-0abc1234def567890","reason":"x","dryRun":null}`, finding.ErrInvalid, "must not be null"},
		{"dryRun twice", `{"instanceId":"i-0abc1234def567890","reason":"x","dryRun":true,"dryRun":false}`, finding.ErrInvalid, "appears twice"},
		{"instanceId missing", `{"reason":"x","dryRun":true}`, finding.ErrInvalid, "instanceId is required"},
		{"instanceId malformed", `{"instanceId":"i-0ABC","reason":"x","dryRun":true}`, finding.ErrInvalid, "not an EC2 instance id"},
		{"instanceId an ARN", `{"instanceId":"arn:aws:ec2:us-east-1:123456789012:instance/i-0abc1234def567890","reason":"x","dryRun":true}`, finding.ErrInvalid, "not an EC2 instance id"},
		{"instanceId a number", `{"instanceId":12345678,"reason":"x","dryRun":true}`, finding.ErrInvalid, "instanceId must be a JSON string"},
		{"reason missing", `{"instanceId":"i-0abc1234def567890","dryRun":true}`, finding.ErrInvalid, "reason is required"},
		{"reason blank", `{"instanceId":"i-0abc1234def567890","reason":"  ","dryRun":true}`, finding.ErrInvalid, "reason is empty"},
		{"account id short", `{"instanceId":"i-0abc1234def567890","reason":"x","dryRun":true,"accountId":"12345"}`, finding.ErrInvalid, "12-digit"},
		{"region made up", `{"instanceId":"i-0abc1234def567890","reason":"x","dryRun":true,"region":"Virginia"}`, finding.ErrInvalid, "Region code"},
		{"caseId empty", `{"instanceId":"i-0abc1234def567890","reason":"x","dryRun":true,"caseId":""}`, finding.ErrInvalid, "caseId is empty"},
		{"random object", `{"hello":"world"}`, finding.ErrInvalid, `unknown field "hello"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := finding.Parse([]byte(tt.raw))
			if err == nil {
				t.Fatalf("Parse succeeded with %+v, want an error", in)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not say %q", err, tt.message)
			}
		})
	}
}

func TestParseShapes(t *testing.T) {
	type want struct {
		source, detailType, eventID string
		instance, account, region   string
		findingType                 string
		severity                    float64
		targets                     string
		dryRun, hasFinding, sample  bool
	}
	tests := []struct {
		name string
		raw  string
		want want
	}{
		{
			name: "guardduty finding, member account wins over the envelope",
			raw: gdEvent("GuardDuty Finding", `{"schemaVersion":"2.0","accountId":"444455556666","region":"eu-west-1","id":"a1","type":"Backdoor:EC2/C&CActivity.B","severity":8,
				"resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-0abc1234def567890","platform":null}},
				"service":{"resourceRole":"ACTOR","count":3,"additionalInfo":{"value":"{}","type":"default"},"someFutureField":{"x":[1,2]}},"newTopLevel":true}`),
			want: want{source: "guardduty", detailType: "GuardDuty Finding", eventID: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
				instance: victim, account: "444455556666", region: "eu-west-1", findingType: "Backdoor:EC2/C&CActivity.B", severity: 8, hasFinding: true},
		},
		{
			name: "finding without accountId falls back to the envelope",
			raw:  gdEvent("GuardDuty Finding", `{"type":"Recon:EC2/Portscan","severity":5.0,"resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-12345678"}}}`),
			want: want{source: "guardduty", detailType: "GuardDuty Finding", eventID: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
				instance: "i-12345678", account: "111122223333", region: "eu-west-1", findingType: "Recon:EC2/Portscan", severity: 5, hasFinding: true},
		},
		{
			name: "fractional severity, runtime shape: no role, empty action, epoch timestamps",
			raw: gdEvent("GuardDuty Finding", `{"type":"Execution:Runtime/NewBinaryExecuted","severity":5.5,"resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-0abc1234def567890"}},
				"service":{"action":{},"resourceRole":null,"runtimeDetails":{"process":{"name":"x","startTime":1795169055.25,"lineage":[{"startTime":"2026-11-20T10:04:14Z"}]},"context":{"modifiedAt":1795169055}}}}`),
			want: want{source: "guardduty", detailType: "GuardDuty Finding", eventID: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
				instance: victim, account: "111122223333", region: "eu-west-1", findingType: "Execution:Runtime/NewBinaryExecuted", severity: 5.5, hasFinding: true},
		},
		{
			name: "sample in the wrapped shape",
			raw: gdEvent("GuardDuty Finding", `{"type":"Backdoor:EC2/C&CActivity.B!DNS","severity":8,"resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-99999999"}},
				"service":{"additionalInfo":{"type":"default","value":"{\"sample\":true}"}}}`),
			want: want{source: "guardduty", detailType: "GuardDuty Finding", eventID: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
				instance: "i-99999999", account: "111122223333", region: "eu-west-1", findingType: "Backdoor:EC2/C&CActivity.B!DNS", severity: 8, hasFinding: true, sample: true},
		},
		{
			name: "other guardduty detail-type with arbitrary detail",
			raw:  gdEvent("GuardDuty Malware Protection Object Scan Result", `["not", "a", "finding"]`),
			want: want{source: "guardduty", detailType: "GuardDuty Malware Protection Object Scan Result", eventID: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
				account: "111122223333", region: "eu-west-1"},
		},
		{
			name: "other guardduty detail-type without detail",
			raw:  `{"source":"aws.guardduty","detail-type":"GuardDuty Runtime Protection Healthy"}`,
			want: want{source: "guardduty", detailType: "GuardDuty Runtime Protection Healthy"},
		},
		{
			name: "security hub custom action: ARN and bare ids, repeats dropped, other resources skipped",
			raw: `{"version":"0","id":"e2c1","detail-type":"Security Hub Findings - Custom Action","source":"aws.securityhub","account":"111122223333","region":"us-east-1","time":"2026-11-20T10:31:44Z","resources":[],
				"detail":{"actionName":"ContainInstance","actionDescription":"d","findings":[
					{"Id":"arn:aws:guardduty:us-west-2:444455556666:detector/d1/finding/f1","ProductArn":"arn:aws:securityhub:us-west-2::product/aws/guardduty","AwsAccountId":"444455556666","Region":"us-west-2",
					 "Types":["TTPs/Command and Control/Backdoor:EC2-C&CActivity.B!DNS"],"Severity":{"Label":"HIGH","Normalized":80},"ProductFields":{"aws/guardduty/service/resourceRole":"ACTOR"},
					 "Resources":[{"Type":"AwsEc2Instance","Id":"arn:aws:ec2:us-west-2:444455556666:instance/i-0abc1234def567890"},{"Type":"AwsEc2Instance","Id":"i-0fedcba9876543210"},
					              {"Type":"AwsEc2Instance","Id":"i-0abc1234def567890"},{"Type":"AwsIamRole","Id":"arn:aws:iam::444455556666:role/web"}]}]}}`,
			want: want{source: "securityhub", detailType: "Security Hub Findings - Custom Action", eventID: "e2c1",
				instance: victim, account: "444455556666", region: "us-west-2", findingType: "Backdoor:EC2/C&CActivity.B!DNS", severity: 8,
				targets: victim + ",i-0fedcba9876543210", hasFinding: true},
		},
		{
			name: "security hub imported findings with odd detail are kept for the policy",
			raw:  `{"source":"aws.securityhub","detail-type":"Security Hub Findings - Imported","detail":"x"}`,
			want: want{source: "securityhub", detailType: "Security Hub Findings - Imported"},
		},
		{
			name: "manual request with every field",
			raw:  `{"instanceId":"i-0abc1234def567890","reason":"C2 traffic <confirmed>","dryRun":true,"accountId":"444455556666","region":"ap-southeast-2","caseId":"IR-7"}`,
			want: want{source: "manual", instance: victim, account: "444455556666", region: "ap-southeast-2", dryRun: true},
		},
		{
			name: "manual request, minimal, old-style id",
			raw:  "\n {\"dryRun\": false, \"reason\": \"r\", \"instanceId\": \"i-0a1b2c3d\"} \n",
			want: want{source: "manual", instance: "i-0a1b2c3d"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := finding.Parse([]byte(tt.raw))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := want{
				source: in.Source, detailType: in.Envelope.DetailType, eventID: in.Envelope.ID,
				instance: in.InstanceID(), account: in.AccountID(), region: in.Region(),
				targets: strings.Join(in.Targets, ","), dryRun: in.DryRun(), hasFinding: in.Finding != nil, sample: in.IsSample(),
			}
			if in.Finding != nil {
				got.findingType, got.severity = in.Finding.Type, in.Finding.Severity
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if (in.Manual != nil) != (in.Source == finding.SourceManual) {
				t.Errorf("Manual = %+v for source %s", in.Manual, in.Source)
			}
		})
	}
}

func TestValidInstanceID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"i-0abc1234def567890", true},
		{"i-12345678", true},
		{"i-99999999", true},
		{"", false},
		{"i-", false},
		{"i-1234567", false},
		{"i-123456789", false},
		{"i-0abc1234def56789", false},
		{"i-0abc1234def5678901", false},
		{"i-0ABC1234DEF567890", false},
		{"i-0abc1234def56789g", false},
		{" i-0abc1234def567890", false},
		{"i-0abc1234def567890\n", false},
		{"arn:aws:ec2:us-east-1:123456789012:instance/i-0abc1234def567890", false},
		{"eni-0abc1234def567890", false},
	}
	for _, tt := range tests {
		if got := finding.ValidInstanceID(tt.id); got != tt.want {
			t.Errorf("ValidInstanceID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
