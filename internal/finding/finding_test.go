package finding_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/finding"
)

func decode(t *testing.T, detail string) *finding.Finding {
	t.Helper()
	var f finding.Finding
	if err := json.Unmarshal([]byte(detail), &f); err != nil {
		t.Fatalf("decoding %s: %v", detail, err)
	}
	return &f
}

func TestFindingAccessors(t *testing.T) {
	tests := []struct {
		name                         string
		detail                       string
		instance, role, resourceType string
		count                        int64
		sample                       bool
	}{
		{"actor network finding", `{"resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-0abc1234def567890"}},"service":{"resourceRole":"ACTOR","count":37}}`,
			victim, "ACTOR", "Instance", 37, false},
		{"target", `{"resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-12345678"}},"service":{"resourceRole":"TARGET","count":1}}`,
			"i-12345678", "TARGET", "Instance", 1, false},
		{"role lower case", `{"service":{"resourceRole":"actor"}}`, "", "ACTOR", "", 0, false},
		{"role null", `{"service":{"resourceRole":null}}`, "", "", "", 0, false},
		{"role unknown word", `{"service":{"resourceRole":"BYSTANDER"}}`, "", "", "", 0, false},
		{"role absent, action empty", `{"resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-0abc1234def567890"}},"service":{"action":{}}}`,
			victim, "", "Instance", 0, false},
		{"no service at all", `{"resource":{"resourceType":"AccessKey","accessKeyDetails":{"principalId":"AROAEXAMPLE:i-0abc1234def567890"}}}`,
			"", "", "AccessKey", 0, false},
		{"instance id padded", `{"resource":{"instanceDetails":{"instanceId":" i-12345678 "}}}`, "i-12345678", "", "", 0, false},
		{"sample flat", `{"service":{"additionalInfo":{"sample":true}}}`, "", "", "", 0, true},
		{"sample flat false", `{"service":{"additionalInfo":{"sample":false}}}`, "", "", "", 0, false},
		{"sample flat string", `{"service":{"additionalInfo":{"sample":"true"}}}`, "", "", "", 0, true},
		{"sample wrapped", `{"service":{"additionalInfo":{"type":"default","value":"{\"sample\":true,\"x\":1}"}}}`, "", "", "", 0, true},
		{"sample wrapped false", `{"service":{"additionalInfo":{"type":"default","value":"{\"sample\":false}"}}}`, "", "", "", 0, false},
		{"wrapped value not JSON", `{"service":{"additionalInfo":{"type":"default","value":"{sample:true"}}}`, "", "", "", 0, false},
		{"wrapped value a JSON array", `{"service":{"additionalInfo":{"type":"default","value":"[true]"}}}`, "", "", "", 0, false},
		{"additionalInfo a string", `{"service":{"additionalInfo":"sample"}}`, "", "", "", 0, false},
		{"additionalInfo null", `{"service":{"additionalInfo":null}}`, "", "", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := decode(t, tt.detail)
			if got := f.InstanceID(); got != tt.instance {
				t.Errorf("InstanceID = %q, want %q", got, tt.instance)
			}
			if got := f.ResourceRole(); got != tt.role {
				t.Errorf("ResourceRole = %q, want %q", got, tt.role)
			}
			if got := f.ResourceType(); got != tt.resourceType {
				t.Errorf("ResourceType = %q, want %q", got, tt.resourceType)
			}
			if got := f.Count(); got != tt.count {
				t.Errorf("Count = %d, want %d", got, tt.count)
			}
			if got := f.IsSample(); got != tt.sample {
				t.Errorf("IsSample = %v, want %v", got, tt.sample)
			}
		})
	}
	var none *finding.Finding
	if none.InstanceID() != "" || none.IsSample() || none.ResourceRole() != "" || none.Count() != 0 || none.ResourceType() != "" || none.SequenceInstances() != nil {
		t.Error("a nil finding must answer with zero values")
	}
}

func TestSequenceInstances(t *testing.T) {
	seq := func(resources string) string {
		return `{"type":"AttackSequence:EC2/CompromisedInstanceGroup","service":{"detection":{"sequence":{"uid":"u","resources":` + resources + `}}}}`
	}
	tests := []struct {
		name   string
		detail string
		want   string
	}{
		{"no detection", `{"service":{}}`, ""},
		{"no sequence", `{"service":{"detection":{"anomaly":{"profiles":{}}}}}`, ""},
		{"bare uid", seq(`[{"uid":"i-0abc1234def567890","resourceType":"EC2_INSTANCE"}]`), victim},
		{"ARN uid", seq(`[{"uid":"arn:aws:ec2:us-east-1:123456789012:instance/i-0fedcba9876543210","resourceType":"EC2_INSTANCE"}]`), "i-0fedcba9876543210"},
		{"resourceArn", seq(`[{"resourceArn":"arn:aws-us-gov:ec2:us-gov-west-1:123456789012:instance/i-12345678","resourceType":"EC2_INSTANCE"}]`), "i-12345678"},
		{"ARN without a type", seq(`[{"resourceArn":"arn:aws:ec2:us-east-1:123456789012:instance/i-12345678"}]`), "i-12345678"},
		{"ASFF and classic spellings", seq(`[{"uid":"i-12345678","resourceType":"AwsEc2Instance"},{"uid":"i-87654321","resourceType":"Instance"}]`), "i-12345678,i-87654321"},
		{"group data, repeats dropped, order kept", seq(`[
			{"uid":"i-0abc1234def567890","resourceType":"EC2_INSTANCE"},
			{"uid":"arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x:autoScalingGroupName/web","resourceType":"AUTOSCALING_AUTO_SCALING_GROUP",
			 "data":{"autoscalingAutoScalingGroup":{"ec2InstanceUids":["i-0abc1234def567890","i-0fedcba9876543210"]}}},
			{"uid":"vpc-0a1b2c3d4e5f67890","resourceType":"EC2_VPC","data":{"ec2Vpc":{"ec2InstanceUids":["i-07f3e2d1c0b9a8765","i-0fedcba9876543210"]}}}]`),
			victim + ",i-0fedcba9876543210,i-07f3e2d1c0b9a8765"},
		{"other resources ignored", seq(`[
			{"uid":"arn:aws:iam::123456789012:role/web","resourceType":"ACCESS_KEY"},
			{"uid":"arn:aws:ec2:us-east-1:123456789012:network-interface/eni-0a1b2c3d4e5f60718","resourceType":"EC2_NETWORK_INTERFACE"},
			{"uid":"arn:aws:s3:::shop-assets","resourceType":"S3_BUCKET"}]`), ""},
		{"malformed ids are returned for the caller to check", seq(`[{"uid":"web-1","resourceType":"EC2_INSTANCE"}]`), "web-1"},
		{"instance type with an ARN of something else", seq(`[{"uid":"arn:aws:ec2:us-east-1:123456789012:volume/vol-1","resourceType":"EC2_INSTANCE"}]`), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(decode(t, tt.detail).SequenceInstances(), ",")
			if got != tt.want {
				t.Errorf("SequenceInstances = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTimestamp(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name string
		json string
		want time.Time
		// out is the re-encoded JSON.
		out string
	}{
		{"epoch seconds", `1795169055`, at("2026-11-20T10:04:15Z"), `"2026-11-20T10:04:15Z"`},
		{"fractional epoch seconds", `1795169055.482913`, at("2026-11-20T10:04:15.482913Z"), `"2026-11-20T10:04:15.482913Z"`},
		{"exponent", `1.795169055E9`, at("2026-11-20T10:04:15Z"), `"2026-11-20T10:04:15Z"`},
		{"epoch milliseconds", `1795170000123`, at("2026-11-20T10:20:00.123Z"), `"2026-11-20T10:20:00.123Z"`},
		{"RFC 3339 UTC", `"2026-11-20T10:04:37.226Z"`, at("2026-11-20T10:04:37.226Z"), `"2026-11-20T10:04:37.226Z"`},
		{"RFC 3339 with offset", `"2026-11-20T11:04:37+01:00"`, at("2026-11-20T10:04:37Z"), `"2026-11-20T10:04:37Z"`},
		{"number in a string", `"1795169055"`, at("2026-11-20T10:04:15Z"), `"2026-11-20T10:04:15Z"`},
		{"null", `null`, time.Time{}, `null`},
		{"empty string", `""`, time.Time{}, `null`},
		{"unreadable string kept", `"yesterday"`, time.Time{}, `"yesterday"`},
		{"wrong type kept", `{"seconds":1}`, time.Time{}, `{"seconds":1}`},
		{"absurd number kept", `1e300`, time.Time{}, `1e300`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ts finding.Timestamp
			if err := json.Unmarshal([]byte(tt.json), &ts); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !ts.Time.Equal(tt.want) {
				t.Errorf("time = %v, want %v", ts.Time, tt.want)
			}
			out, err := json.Marshal(ts)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.out {
				t.Errorf("re-encoded %s, want %s", out, tt.out)
			}
		})
	}
}

func TestAdditionalInfoGet(t *testing.T) {
	tests := []struct {
		name, json, key, want string
	}{
		{"flat", `{"threatListName":"ProofPoint"}`, "threatListName", `"ProofPoint"`},
		{"wrapped", `{"type":"default","value":"{\"threatListName\":\"ProofPoint\"}"}`, "threatListName", `"ProofPoint"`},
		{"wrapped, value unreadable: the wrapper answers", `{"type":"default","value":"{oops"}`, "value", `"{oops"`},
		{"missing", `{"a":1}`, "b", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a finding.AdditionalInfo
			if err := json.Unmarshal([]byte(tt.json), &a); err != nil {
				t.Fatal(err)
			}
			got, _ := a.Get(tt.key)
			if string(got) != tt.want {
				t.Errorf("Get(%q) = %s, want %s", tt.key, got, tt.want)
			}
			out, _ := json.Marshal(a)
			if string(out) != tt.json {
				t.Errorf("re-encoded %s, want what was read: %s", out, tt.json)
			}
		})
	}
}
