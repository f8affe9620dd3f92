package finding_test

import (
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/internal/finding"
)

func customAction(findings ...string) string {
	return `{"version":"0","id":"9d2a","detail-type":"Security Hub Findings - Custom Action","source":"aws.securityhub","account":"111122223333","region":"us-east-1",
		"time":"2026-11-20T10:31:44Z","resources":["arn:aws:securityhub:us-east-1:111122223333:action/custom/ContainInstance"],
		"detail":{"actionName":"ContainInstance","actionDescription":"Isolate","findings":[` + strings.Join(findings, ",") + `]}}`
}

const gdProduct = `"ProductArn":"arn:aws:securityhub:us-east-1::product/aws/guardduty"`

func TestSecurityHubFindings(t *testing.T) {
	instance := `"Resources":[{"Type":"AwsEc2Instance","Id":"arn:aws:ec2:us-east-1:444455556666:instance/i-0abc1234def567890"}]`
	tests := []struct {
		name    string
		asff    string
		fromGD  bool
		gdType  string
		gdID    string
		sev     float64
		role    string
		account string
		region  string
		targets string
		bad     string
	}{
		{name: "severity from Product, type from Types",
			asff:   `{"Id":"arn:aws:guardduty:us-east-1:444455556666:detector/d/finding/f1",` + gdProduct + `,"AwsAccountId":"444455556666","Region":"us-east-1","Types":["TTPs/Command and Control/Backdoor:EC2-C&CActivity.B"],"Severity":{"Product":8,"Normalized":80,"Label":"HIGH"},"ProductFields":{"aws/guardduty/service/resourceRole":"ACTOR"},` + instance + `}`,
			fromGD: true, gdType: "Backdoor:EC2/C&CActivity.B", gdID: "f1", sev: 8, role: "ACTOR", account: "444455556666", region: "us-east-1", targets: victim},
		{name: "severity from FindingProviderFields.Original when Product is absent",
			asff:   `{"Id":"arn:aws:guardduty:us-east-1:444455556666:detector/d/finding/f2",` + gdProduct + `,"AwsAccountId":"444455556666","Region":"us-east-1","FindingProviderFields":{"Severity":{"Label":"MEDIUM","Original":"5.5"},"Types":["TTPs/Discovery/Recon:EC2-Portscan"]},"Severity":{"Normalized":50},` + instance + `}`,
			fromGD: true, gdType: "Recon:EC2/Portscan", gdID: "f2", sev: 5.5, account: "444455556666", region: "us-east-1", targets: victim},
		{name: "severity from Normalized/10 as a last resort; old bare product field keys",
			asff:   `{"Id":"arn:aws:guardduty:us-east-1:444455556666:detector/d/finding/f3","ProductName":"GuardDuty","AwsAccountId":"444455556666","Types":["Effects/Resource Consumption/CryptoCurrency:EC2-BitcoinTool.B!DNS"],"FindingProviderFields":{"Severity":{"Original":"HIGH"}},"Severity":{"Normalized":80},"ProductFields":{"resourceRole":"actor"},` + instance + `}`,
			fromGD: true, gdType: "CryptoCurrency:EC2/BitcoinTool.B!DNS", gdID: "f3", sev: 8, role: "ACTOR", account: "444455556666", region: "us-east-1", targets: victim},
		{name: "GuardDuty told by ProductFields; type already with a slash",
			asff:   `{"Id":"x","ProductArn":"arn:aws:securityhub:us-east-1:444455556666:product/444455556666/default","ProductFields":{"aws/securityhub/ProductName":"GuardDuty"},"Types":["TTPs/Execution:Runtime/ReverseShell"],"Severity":{"Product":8},"Resources":[{"Type":"AwsEc2Instance","Id":"i-12345678","Region":"eu-west-1"}]}`,
			fromGD: true, gdType: "Execution:Runtime/ReverseShell", sev: 8, account: "111122223333", region: "eu-west-1", targets: "i-12345678"},
		{name: "not GuardDuty: no GuardDuty fields, instances still taken",
			asff: `{"Id":"arn:aws:inspector2:us-east-1:444455556666:finding/abc","ProductArn":"arn:aws:securityhub:us-east-1::product/aws/inspector","AwsAccountId":"444455556666","Region":"us-east-1","Types":["Software and Configuration Checks/Vulnerabilities/CVE"],"Severity":{"Normalized":70},` + instance + `}`,
			sev:  7, account: "444455556666", region: "us-east-1", targets: victim},
		{name: "account and Region from the instance ARN when the finding has none",
			asff:   `{"Id":"y",` + gdProduct + `,"Types":[],"Resources":[{"Type":"AwsEc2Instance","Id":"arn:aws:ec2:ap-south-1:777788889999:instance/i-0fedcba9876543210"}]}`,
			fromGD: true, account: "777788889999", region: "ap-south-1", targets: "i-0fedcba9876543210"},
		{name: "malformed instance resources are set aside",
			asff:   `{"Id":"z",` + gdProduct + `,"AwsAccountId":"444455556666","Region":"us-east-1","Resources":[{"Type":"AwsEc2Instance","Id":"arn:aws:ec2:us-east-1:444455556666:instance/web-1"},{"Type":"AwsEc2Instance","Id":"arn:aws:ec2:us-east-1:444455556666:volume/vol-1"}]}`,
			fromGD: true, account: "444455556666", region: "us-east-1", bad: "arn:aws:ec2:us-east-1:444455556666:instance/web-1,arn:aws:ec2:us-east-1:444455556666:volume/vol-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := finding.Parse([]byte(customAction(tt.asff)))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if in.SecurityHub == nil || len(in.SecurityHub.Findings) != 1 {
				t.Fatalf("SecurityHub = %+v, want one finding", in.SecurityHub)
			}
			f := in.SecurityHub.Findings[0]
			got := []any{f.FromGuardDuty, f.GuardDutyType, f.GuardDutyID, f.Severity, f.ResourceRole, f.AccountID, f.Region, strings.Join(in.Targets, ","), strings.Join(f.Malformed, ",")}
			want := []any{tt.fromGD, tt.gdType, tt.gdID, tt.sev, tt.role, tt.account, tt.region, tt.targets, tt.bad}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("field %d = %v, want %v (finding %+v)", i, got[i], want[i], f)
				}
			}
			// The report's finding summary comes from the GuardDuty finding only.
			if (in.Finding != nil) != tt.fromGD {
				t.Fatalf("Finding = %+v, want one only for GuardDuty", in.Finding)
			}
			if in.Finding != nil && (in.Finding.Type != tt.gdType || in.Finding.Severity != tt.sev || in.Finding.ID != tt.gdID) {
				t.Errorf("Finding summary = %+v", in.Finding)
			}
		})
	}
}

func TestSecurityHubSample(t *testing.T) {
	tests := []struct {
		name string
		asff string
		want bool
	}{
		{"not a sample", `{"Id":"a",` + gdProduct + `,"ProductFields":{"aws/guardduty/service/additionalInfo/sample":"false"}}`, false},
		{"sample in ProductFields", `{"Id":"a",` + gdProduct + `,"ProductFields":{"aws/guardduty/service/additionalInfo/sample":"true"}}`, true},
		{"sample in ASFF Sample", `{"Id":"a","ProductArn":"arn:aws:securityhub:us-east-1::product/aws/inspector","Sample":true}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := finding.Parse([]byte(customAction(tt.asff)))
			if err != nil {
				t.Fatal(err)
			}
			if in.IsSample() != tt.want {
				t.Errorf("IsSample = %v, want %v", in.IsSample(), tt.want)
			}
			if in.Finding != nil && in.Finding.IsSample() != tt.want {
				t.Errorf("Finding.IsSample = %v, want %v", in.Finding.IsSample(), tt.want)
			}
		})
	}
}
