package policy_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/finding"
	"github.com/firebreak-ir/firebreak/internal/policy"
	"github.com/firebreak-ir/firebreak/internal/report"
)

const victim = "i-0abc1234def567890"

var defaults = policy.Thresholds{Contain: 7, Notify: 4}

// event loads a sample event, lets edit change it as decoded JSON, and parses
// it, so every case starts from a real-shaped event.
func event(t *testing.T, name string, edit func(ev, detail map[string]any)) *finding.Input {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(events.Must(name), &ev); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		detail, _ := ev["detail"].(map[string]any)
		edit(ev, detail)
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	in, err := finding.Parse(raw)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return in
}

// backdoor starts from the demo finding (Backdoor:EC2/C&CActivity.B, 8, ACTOR).
func backdoor(t *testing.T, edit func(d map[string]any)) *finding.Input {
	return event(t, events.Default, func(_, d map[string]any) {
		if edit != nil {
			edit(d)
		}
	})
}

func service(d map[string]any) map[string]any { return d["service"].(map[string]any) }
func instanceOf(d map[string]any) map[string]any {
	return d["resource"].(map[string]any)["instanceDetails"].(map[string]any)
}

func typed(typ string, sev float64, role any) func(map[string]any) {
	return func(d map[string]any) {
		d["type"] = typ
		d["severity"] = sev
		if role == nil {
			delete(service(d), "resourceRole")
		} else {
			service(d)["resourceRole"] = role
		}
	}
}

func TestDecideGuardDuty(t *testing.T) {
	tests := []struct {
		name  string
		in    func(t *testing.T) *finding.Input
		th    policy.Thresholds
		want  report.Decision
		rule  string
		inst  string
		insts []string
		// reason must contain these words, so the reader sees the rule.
		says []string
	}{
		// ignore
		{name: "runtime agent health event", in: func(t *testing.T) *finding.Input {
			return event(t, events.Default, func(ev, _ map[string]any) {
				ev["detail-type"] = "GuardDuty Runtime Protection Unhealthy"
				ev["detail"] = map[string]any{"schemaVersion": "1.0", "resourceType": "EC2", "previousStatus": "HEALTHY", "currentStatus": "UNHEALTHY"}
			})
		}, want: report.Ignore, rule: policy.RuleNotAFinding, says: []string{"Not a finding", "GuardDuty Runtime Protection Unhealthy"}},
		{name: "cloudtrail api call", in: func(t *testing.T) *finding.Input { return event(t, "guardduty-cloudtrail-api-call.json", nil) },
			want: report.Ignore, rule: policy.RuleNotAFinding},
		{name: "malware in a snapshot", in: func(t *testing.T) *finding.Input { return event(t, "guardduty-malware-snapshot.json", nil) },
			want: report.Ignore, rule: policy.RuleNotRunningInstance, says: []string{"snapshot"}},
		{name: "malware in an AMI even with instance details", in: func(t *testing.T) *finding.Input {
			return backdoor(t, typed("Execution:EC2/MaliciousFile!AMI", 8, nil))
		}, want: report.Ignore, rule: policy.RuleNotRunningInstance, says: []string{"AMI"}},
		{name: "malware in a recovery point", in: func(t *testing.T) *finding.Input {
			return backdoor(t, typed("Execution:EC2/MaliciousFile!RecoveryPoint", 8, nil))
		}, want: report.Ignore, rule: policy.RuleNotRunningInstance, says: []string{"recovery point"}},
		{name: "instance credentials used outside AWS", in: func(t *testing.T) *finding.Input {
			return event(t, "guardduty-accesskey-credential-exfiltration.json", nil)
		}, want: report.Contain, rule: policy.RuleExfiltration, inst: victim, says: []string{"role web-server", "outside AWS", "contained with its credentials"}},
		{name: "instance credentials used from another account", in: func(t *testing.T) *finding.Input {
			return event(t, "guardduty-credential-exfiltration-inside-aws.json", nil)
		}, want: report.Contain, rule: policy.RuleExfiltration, inst: victim, says: []string{"another AWS account"}},
		{name: "exfiltration, credentials only", in: func(t *testing.T) *finding.Input {
			return event(t, "guardduty-accesskey-credential-exfiltration.json", nil)
		}, th: policy.Thresholds{Contain: 7, Notify: 4, Credentials: contract.CredentialFindingsOnly},
			want: report.Contain, rule: policy.RuleExfiltration, inst: victim, says: []string{"credentials only"}},
		{name: "exfiltration, notify only", in: func(t *testing.T) *finding.Input {
			return event(t, "guardduty-accesskey-credential-exfiltration.json", nil)
		}, th: policy.Thresholds{Contain: 7, Notify: 4, Credentials: contract.CredentialFindingsNotify},
			want: report.Notify, rule: policy.RuleExfiltration, inst: victim, says: []string{"a person decides"}},
		{name: "exfiltration without a principal id", in: func(t *testing.T) *finding.Input {
			return event(t, "guardduty-accesskey-credential-exfiltration.json", func(_, d map[string]any) {
				delete(d["resource"].(map[string]any)["accessKeyDetails"].(map[string]any), "principalId")
			})
		}, want: report.Notify, rule: policy.RuleBadSession, says: []string{"no principalId"}},
		{name: "exfiltration of a session that is not an instance's", in: func(t *testing.T) *finding.Input {
			return event(t, "guardduty-accesskey-credential-exfiltration.json", func(_, d map[string]any) {
				d["resource"].(map[string]any)["accessKeyDetails"].(map[string]any)["principalId"] = "AROA4EXAMPLEROLEID42:jane@example.com"
			})
		}, want: report.Notify, rule: policy.RuleBadSession, says: []string{"jane@example.com"}},
		{name: "exfiltration sample", in: func(t *testing.T) *finding.Input {
			return event(t, "guardduty-accesskey-credential-exfiltration.json", func(_, d map[string]any) {
				service(d)["additionalInfo"] = map[string]any{"sample": true}
			})
		}, want: report.Notify, rule: policy.RuleSample},
		{name: "other IAM user finding", in: func(t *testing.T) *finding.Input {
			return event(t, "guardduty-accesskey-credential-exfiltration.json", func(_, d map[string]any) {
				d["type"] = "UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B"
			})
		}, want: report.Ignore, rule: policy.RuleCredentialFinding, says: []string{"Credential finding", "AccessKey"}},
		{name: "S3 bucket finding", in: func(t *testing.T) *finding.Input {
			return backdoor(t, func(d map[string]any) {
				typed("Discovery:S3/MaliciousIPCaller", 8, "TARGET")(d)
				d["resource"] = map[string]any{"resourceType": "S3Bucket", "s3BucketDetails": []any{map[string]any{"name": "shop-assets"}}}
			})
		}, want: report.Ignore, rule: policy.RuleNoInstance, says: []string{"S3Bucket"}},
		{name: "runtime finding on an EKS cluster", in: func(t *testing.T) *finding.Input {
			return backdoor(t, func(d map[string]any) {
				typed("Execution:Runtime/ReverseShell", 8, nil)(d)
				d["resource"] = map[string]any{"resourceType": "EKSCluster", "eksClusterDetails": map[string]any{"name": "prod"}}
			})
		}, want: report.Ignore, rule: policy.RuleNoInstance, says: []string{"EKSCluster"}},
		{name: "no resource type", in: func(t *testing.T) *finding.Input {
			return backdoor(t, func(d map[string]any) { delete(d["resource"].(map[string]any), "resourceType") })
		}, want: report.Ignore, rule: policy.RuleNoInstance, says: []string{"(none)"}},
		{name: "just below notify", in: func(t *testing.T) *finding.Input {
			return backdoor(t, typed("Backdoor:EC2/C&CActivity.B", 3.9, "ACTOR"))
		},
			want: report.Ignore, rule: policy.RuleBelowNotify, inst: victim, says: []string{"3.9", "4.0"}},
		{name: "low sample is ignored before it is called a sample", in: func(t *testing.T) *finding.Input {
			return event(t, "guardduty-sample-backdoor.json", func(_, d map[string]any) { d["severity"] = 2 })
		}, want: report.Ignore, rule: policy.RuleBelowNotify, inst: "i-99999999"},

		// notify
		{name: "sample with a placeholder that is no instance id", in: func(t *testing.T) *finding.Input {
			return event(t, "guardduty-sample-backdoor.json", func(_, d map[string]any) { instanceOf(d)["instanceId"] = "GeneratedFindingInstanceId" })
		}, want: report.Notify, rule: policy.RuleSample},
		{name: "sample, flat additionalInfo", in: func(t *testing.T) *finding.Input { return event(t, "guardduty-sample-backdoor.json", nil) },
			want: report.Notify, rule: policy.RuleSample, inst: "i-99999999", says: []string{"GuardDuty sample finding: never acted on"}},
		{name: "sample, wrapped additionalInfo, real instance id", in: func(t *testing.T) *finding.Input {
			return backdoor(t, func(d map[string]any) {
				service(d)["additionalInfo"] = map[string]any{"type": "default", "value": `{"sample":true}`}
			})
		}, want: report.Notify, rule: policy.RuleSample, inst: victim},
		{name: "sample attack sequence", in: func(t *testing.T) *finding.Input {
			return event(t, "guardduty-attack-sequence-instance-group.json", func(_, d map[string]any) {
				service(d)["additionalInfo"] = map[string]any{"sample": true}
			})
		}, want: report.Notify, rule: policy.RuleSample, inst: victim},
		{name: "attack sequence names three instances", in: func(t *testing.T) *finding.Input {
			return event(t, "guardduty-attack-sequence-instance-group.json", nil)
		}, want: report.Notify, rule: policy.RuleAttackSequence, inst: victim,
			insts: []string{victim, "i-0fedcba9876543210", "i-07f3e2d1c0b9a8765"}, says: []string{"Attack sequence", "3 instances"}},
		{name: "attack sequence on another resource type still names its instances", in: func(t *testing.T) *finding.Input {
			return event(t, "guardduty-attack-sequence-instance-group.json", func(_, d map[string]any) {
				d["resource"] = map[string]any{"resourceType": "AutoScalingGroup"}
			})
		}, want: report.Notify, rule: policy.RuleAttackSequence, inst: victim,
			insts: []string{victim, "i-0fedcba9876543210", "i-07f3e2d1c0b9a8765"}},
		{name: "attack sequence on credentials names no instance", in: func(t *testing.T) *finding.Input {
			return event(t, "guardduty-attack-sequence-instance-group.json", func(_, d map[string]any) {
				d["type"] = "AttackSequence:IAM/CompromisedCredentials"
				d["resource"] = map[string]any{"resourceType": "AccessKey"}
				seq := service(d)["detection"].(map[string]any)["sequence"].(map[string]any)
				seq["resources"] = []any{map[string]any{"uid": "arn:aws:iam::123456789012:role/ci", "resourceType": "ACCESS_KEY"}}
			})
		}, want: report.Ignore, rule: policy.RuleNoInstance},
		{name: "instance id missing", in: func(t *testing.T) *finding.Input {
			return backdoor(t, func(d map[string]any) { delete(instanceOf(d), "instanceId") })
		}, want: report.Notify, rule: policy.RuleMissingInstanceID, says: []string{"Instance id missing"}},
		{name: "instance id malformed", in: func(t *testing.T) *finding.Input {
			return backdoor(t, func(d map[string]any) { instanceOf(d)["instanceId"] = "i-0ABC1234DEF567890" })
		}, want: report.Notify, rule: policy.RuleMalformedID, says: []string{"Malformed instance id", "i-0ABC1234DEF567890"}},
		{name: "instance id with a newline", in: func(t *testing.T) *finding.Input {
			return backdoor(t, func(d map[string]any) { instanceOf(d)["instanceId"] = "i-0abc1234def567890\n; rm -rf /" })
		}, want: report.Notify, rule: policy.RuleMalformedID, says: []string{`\n`}},
		{name: "ssh brute force against the instance", in: func(t *testing.T) *finding.Input {
			return event(t, "guardduty-ssh-bruteforce-target.json", nil)
		}, th: policy.Thresholds{Contain: 7, Notify: 1}, want: report.Notify, rule: policy.RuleTarget, inst: "i-0b45e1d2c3a4f5061", says: []string{"TARGET", "victim"}},
		{name: "high severity does not make a target an attacker", in: func(t *testing.T) *finding.Input {
			return backdoor(t, typed("UnauthorizedAccess:EC2/RDPBruteForce", 8, "TARGET"))
		}, want: report.Notify, rule: policy.RuleTarget, inst: victim},
		{name: "winrm brute force against the instance", in: func(t *testing.T) *finding.Input {
			return backdoor(t, typed("Impact:EC2/WinRMBruteForce", 8, "TARGET"))
		}, want: report.Notify, rule: policy.RuleTarget, inst: victim},
		{name: "compromise type with the instance as target", in: func(t *testing.T) *finding.Input {
			return backdoor(t, typed("Backdoor:EC2/DenialOfService.Tcp", 8, "TARGET"))
		}, want: report.Notify, rule: policy.RuleTarget, inst: victim},
		{name: "unprotected port probed", in: func(t *testing.T) *finding.Input {
			return event(t, "guardduty-portprobe-unprotected-port.json", func(_, d map[string]any) { d["severity"] = 5 })
		}, want: report.Notify, rule: policy.RuleTarget, inst: "i-0b45e1d2c3a4f5061", says: []string{"probed"}},
		{name: "EMR port probed, whatever the role says", in: func(t *testing.T) *finding.Input {
			return backdoor(t, typed("Recon:EC2/PortProbeEMRUnprotectedPort", 8, "ACTOR"))
		}, want: report.Notify, rule: policy.RuleTarget, inst: victim},
		{name: "ssh brute force without a role", in: func(t *testing.T) *finding.Input {
			return backdoor(t, typed("UnauthorizedAccess:EC2/SSHBruteForce", 8, nil))
		}, want: report.Notify, rule: policy.RuleRoleUnknown, inst: victim, says: []string{"Role unknown"}},
		{name: "ssh brute force with a null role", in: func(t *testing.T) *finding.Input {
			return backdoor(t, func(d map[string]any) {
				typed("UnauthorizedAccess:EC2/SSHBruteForce", 8, nil)(d)
				service(d)["resourceRole"] = nil
			})
		}, want: report.Notify, rule: policy.RuleRoleUnknown, inst: victim},
		{name: "medium compromise", in: func(t *testing.T) *finding.Input { return event(t, "guardduty-recon-portscan.json", nil) },
			want: report.Notify, rule: policy.RuleBelowContain, inst: victim, says: []string{"5.0", "7.0"}},
		{name: "exactly at notify", in: func(t *testing.T) *finding.Input { return backdoor(t, typed("Backdoor:EC2/C&CActivity.B", 4, "ACTOR")) },
			want: report.Notify, rule: policy.RuleBelowContain, inst: victim},
		{name: "inbound from tor is not a compromise", in: func(t *testing.T) *finding.Input {
			return backdoor(t, typed("UnauthorizedAccess:EC2/TorIPCaller", 8, "TARGET"))
		}, want: report.Notify, rule: policy.RuleTarget, inst: victim},
		{name: "unknown type on an instance", in: func(t *testing.T) *finding.Input {
			return backdoor(t, typed("Discovery:EC2/SomethingNew.Reputation", 8.9, "ACTOR"))
		}, want: report.Notify, rule: policy.RuleNotCompromise, inst: victim, says: []string{"never contain"}},
		{name: "impact type outside the list", in: func(t *testing.T) *finding.Input {
			return backdoor(t, typed("Impact:EC2/UnusualResourceConsumption", 8, "ACTOR"))
		}, want: report.Notify, rule: policy.RuleNotCompromise, inst: victim},
		{name: "malicious IP caller without .Custom is not in the list", in: func(t *testing.T) *finding.Input {
			return backdoor(t, typed("UnauthorizedAccess:EC2/MaliciousIPCaller", 8, "ACTOR"))
		}, want: report.Notify, rule: policy.RuleNotCompromise, inst: victim},

		// contain
		{name: "exactly at contain", in: func(t *testing.T) *finding.Input { return backdoor(t, typed("Backdoor:EC2/C&CActivity.B", 7, "ACTOR")) },
			want: report.Contain, rule: policy.RuleCompromise, inst: victim, says: []string{"Compromised instance", "ACTOR", "7.0"}},
		{name: "runtime finding with no role and an empty action", in: func(t *testing.T) *finding.Input {
			return event(t, "guardduty-runtime-reverse-shell.json", nil)
		}, want: report.Contain, rule: policy.RuleCompromise, inst: victim},
		{name: "runtime finding with no action at all", in: func(t *testing.T) *finding.Input {
			return event(t, "guardduty-runtime-reverse-shell.json", func(_, d map[string]any) {
				delete(service(d), "action")
				d["type"] = "CryptoCurrency:Runtime/BitcoinTool.B"
			})
		}, want: report.Contain, rule: policy.RuleCompromise, inst: victim},
		{name: "malware on the running instance", in: func(t *testing.T) *finding.Input { return event(t, "guardduty-malware-ec2.json", nil) },
			want: report.Contain, rule: policy.RuleCompromise, inst: victim},
		{name: "ssh brute force by the instance", in: func(t *testing.T) *finding.Input { return event(t, "guardduty-ssh-bruteforce-actor.json", nil) },
			want: report.Contain, rule: policy.RuleCompromise, inst: victim},
		{name: "lower-case role", in: func(t *testing.T) *finding.Input {
			return backdoor(t, typed("Impact:EC2/WinRMBruteForce", 8, "actor"))
		}, want: report.Contain, rule: policy.RuleCompromise, inst: victim},
		{name: "NaN contain threshold never contains", in: func(t *testing.T) *finding.Input { return backdoor(t, nil) },
			th: policy.Thresholds{Contain: math.NaN(), Notify: 4}, want: report.Notify, rule: policy.RuleBelowContain, inst: victim},
		{name: "custom thresholds", in: func(t *testing.T) *finding.Input { return event(t, "guardduty-recon-portscan.json", nil) },
			th: policy.Thresholds{Contain: 5, Notify: 2}, want: report.Contain, rule: policy.RuleCompromise, inst: victim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := tt.th
			if th.Contain == 0 && th.Notify == 0 {
				th = defaults
			}
			v := policy.Decide(tt.in(t), th)
			check(t, v, tt.want, tt.rule, tt.inst, tt.insts, tt.says)
		})
	}
}

// Every type the compromise list names contains as ACTOR at High severity.
func TestCompromiseTypesContain(t *testing.T) {
	types := []string{
		"Backdoor:EC2/C&CActivity.B", "Backdoor:EC2/C&CActivity.B!DNS", "Backdoor:EC2/DenialOfService.Dns", "Backdoor:EC2/Spambot",
		"CryptoCurrency:EC2/BitcoinTool.B", "CryptoCurrency:EC2/BitcoinTool.B!DNS",
		"Trojan:EC2/BlackholeTraffic", "Trojan:EC2/DGADomainRequest.C!DNS", "Trojan:EC2/DropPoint!DNS",
		"Impact:EC2/AbusedDomainRequest.Reputation", "Impact:EC2/BitcoinDomainRequest.Reputation", "Impact:EC2/MaliciousDomainRequest.Custom",
		"Impact:EC2/PortSweep", "Recon:EC2/Portscan",
		"UnauthorizedAccess:EC2/TorClient", "UnauthorizedAccess:EC2/TorRelay",
		"UnauthorizedAccess:EC2/MaliciousIPCaller.Custom", "UnauthorizedAccess:EC2/MetadataDNSRebind",
		"Behavior:EC2/NetworkPortUnusual", "Behavior:EC2/TrafficVolumeUnusual",
		"DefenseEvasion:EC2/UnusualDoHActivity", "DefenseEvasion:EC2/UnusualDNSResolver",
		"Execution:Runtime/NewBinaryExecuted", "PrivilegeEscalation:Runtime/DockerSocketAccessed", "Backdoor:Runtime/C&CActivity.B",
		"Execution:EC2/MaliciousFile",
		"UnauthorizedAccess:EC2/SSHBruteForce", "UnauthorizedAccess:EC2/RDPBruteForce", "Impact:EC2/WinRMBruteForce",
	}
	for _, typ := range types {
		t.Run(typ, func(t *testing.T) {
			v := policy.Decide(backdoor(t, typed(typ, 8, "ACTOR")), defaults)
			check(t, v, report.Contain, policy.RuleCompromise, victim, nil, []string{typ})
		})
	}
}

// A sample must never contain, whatever it names, in whichever shape it says so.
func TestSamplesNeverContain(t *testing.T) {
	shapes := map[string]any{
		"flat":          map[string]any{"sample": true},
		"wrapped":       map[string]any{"type": "default", "value": `{"sample":true}`},
		"string true":   map[string]any{"sample": "true"},
		"wrapped, more": map[string]any{"type": "default", "value": `{"threatListName":"x","sample":true}`},
	}
	for shape, info := range shapes {
		for _, typ := range []string{"Backdoor:EC2/C&CActivity.B", "Execution:Runtime/ReverseShell", "Execution:EC2/MaliciousFile", "UnauthorizedAccess:EC2/SSHBruteForce"} {
			t.Run(shape+"/"+typ, func(t *testing.T) {
				in := backdoor(t, func(d map[string]any) {
					typed(typ, 10, "ACTOR")(d)
					service(d)["additionalInfo"] = info
				})
				v := policy.Decide(in, policy.Thresholds{Contain: 0, Notify: 0})
				check(t, v, report.Notify, policy.RuleSample, victim, nil, nil)
			})
		}
	}
	// The wrapped value is not JSON: it says nothing, and the finding is real.
	in := backdoor(t, func(d map[string]any) {
		service(d)["additionalInfo"] = map[string]any{"type": "default", "value": `{"sample":tru`}
	})
	check(t, policy.Decide(in, defaults), report.Contain, policy.RuleCompromise, victim, nil, nil)
}

func TestDecideManual(t *testing.T) {
	tests := []struct {
		name string
		in   *finding.Input
		want report.Decision
		rule string
		inst string
		says []string
	}{
		{name: "real run", in: parse(t, events.Must("manual-contain.json")), want: report.Contain, rule: policy.RuleManual, inst: victim,
			says: []string{"Manual request", "on-call responder"}},
		{name: "dry run", in: parse(t, events.Must("manual-dry-run.json")), want: report.Contain, rule: policy.RuleManual, inst: victim,
			says: []string{"Dry run"}},
		{name: "built by hand with a bad id", in: &finding.Input{Source: finding.SourceManual, Manual: &finding.Request{InstanceID: "web-1", Reason: "x"}},
			want: report.Notify, rule: policy.RuleMalformedID},
		{name: "manual source without a request", in: &finding.Input{Source: finding.SourceManual}, want: report.Ignore, rule: policy.RuleNoInput},
		{name: "nil input", in: nil, want: report.Ignore, rule: policy.RuleNoInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, policy.Decide(tt.in, defaults), tt.want, tt.rule, tt.inst, nil, tt.says)
		})
	}
	// A manual request is a person's decision: thresholds do not apply.
	v := policy.Decide(parse(t, events.Must("manual-contain.json")), policy.Thresholds{Contain: 11, Notify: 11})
	check(t, v, report.Contain, policy.RuleManual, victim, nil, nil)
}

func TestDecideSecurityHub(t *testing.T) {
	asff := func(edit func(f map[string]any)) func(ev, d map[string]any) {
		return func(_, d map[string]any) { edit(d["findings"].([]any)[0].(map[string]any)) }
	}
	addFinding := func(instanceARN, account, region string) func(ev, d map[string]any) {
		return func(_, d map[string]any) {
			first := d["findings"].([]any)[0].(map[string]any)
			b, _ := json.Marshal(first)
			var second map[string]any
			_ = json.Unmarshal(b, &second)
			second["AwsAccountId"] = account
			second["Region"] = region
			second["Resources"] = []any{map[string]any{"Type": "AwsEc2Instance", "Id": instanceARN}}
			d["findings"] = append(d["findings"].([]any), second)
		}
	}
	tests := []struct {
		name  string
		edit  func(ev, d map[string]any)
		want  report.Decision
		rule  string
		inst  string
		insts []string
	}{
		{name: "custom action", want: report.Contain, rule: policy.RuleCustomAction, inst: victim, insts: []string{victim}},
		{name: "low severity does not stop an analyst", edit: asff(func(f map[string]any) { f["Severity"] = map[string]any{"Product": 2, "Normalized": 20} }),
			want: report.Contain, rule: policy.RuleCustomAction, inst: victim, insts: []string{victim}},
		{name: "two instances, same account and Region", edit: addFinding("i-0fedcba9876543210", "123456789012", "us-east-1"),
			want: report.Contain, rule: policy.RuleCustomAction, inst: victim, insts: []string{victim, "i-0fedcba9876543210"}},
		// Each instance is handled in its own account; another Region's is
		// reported by the handler, not refused here.
		{name: "two accounts", edit: addFinding("arn:aws:ec2:us-east-1:210987654321:instance/i-0fedcba9876543210", "210987654321", "us-east-1"),
			want: report.Contain, rule: policy.RuleCustomAction, inst: victim, insts: []string{victim, "i-0fedcba9876543210"}},
		{name: "two Regions", edit: addFinding("i-0fedcba9876543210", "123456789012", "eu-west-1"),
			want: report.Contain, rule: policy.RuleCustomAction, inst: victim, insts: []string{victim, "i-0fedcba9876543210"}},
		{name: "imported findings, not a custom action", edit: func(ev, _ map[string]any) { ev["detail-type"] = "Security Hub Findings - Imported" },
			want: report.Ignore, rule: policy.RuleNotCustomAction},
		{name: "sample flagged in ProductFields", edit: asff(func(f map[string]any) {
			f["ProductFields"].(map[string]any)["aws/guardduty/service/additionalInfo/sample"] = "true"
		}), want: report.Notify, rule: policy.RuleSample, inst: victim, insts: []string{victim}},
		{name: "sample flagged by ASFF Sample", edit: asff(func(f map[string]any) { f["Sample"] = true }),
			want: report.Notify, rule: policy.RuleSample, inst: victim, insts: []string{victim}},
		{name: "no instance resource", edit: asff(func(f map[string]any) {
			f["Resources"] = []any{map[string]any{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::shop-assets"}}
		}), want: report.Ignore, rule: policy.RuleNoInstance},
		{name: "only a malformed instance id", edit: asff(func(f map[string]any) {
			f["Resources"] = []any{map[string]any{"Type": "AwsEc2Instance", "Id": "arn:aws:ec2:us-east-1:123456789012:instance/web-1"}}
		}), want: report.Notify, rule: policy.RuleMalformedID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := event(t, "securityhub-custom-action.json", tt.edit)
			check(t, policy.Decide(in, defaults), tt.want, tt.rule, tt.inst, tt.insts, nil)
		})
	}
}

func TestThresholdsValidate(t *testing.T) {
	tests := []struct {
		th policy.Thresholds
		ok bool
	}{
		{policy.DefaultThresholds, true},
		{policy.Thresholds{Contain: 7, Notify: 7}, true},
		{policy.Thresholds{Contain: 0, Notify: 0}, true},
		{policy.Thresholds{Contain: 4, Notify: 7}, false},
		{policy.Thresholds{Contain: 7, Notify: -1}, false},
	}
	for _, tt := range tests {
		if err := tt.th.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v.Validate() = %v, want ok %v", tt.th, err, tt.ok)
		}
	}
}

func parse(t *testing.T, raw []byte) *finding.Input {
	t.Helper()
	in, err := finding.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func check(t *testing.T, v policy.Verdict, want report.Decision, rule, inst string, insts []string, says []string) {
	t.Helper()
	if v.Decision != want || v.Rule != rule {
		t.Errorf("Decide = %s (%s), want %s (%s); reason: %s", v.Decision, v.Rule, want, rule, v.Reason)
	}
	if v.InstanceID != inst {
		t.Errorf("InstanceID = %q, want %q", v.InstanceID, inst)
	}
	if strings.Join(v.Instances, ",") != strings.Join(insts, ",") {
		t.Errorf("Instances = %v, want %v", v.Instances, insts)
	}
	if v.Reason == "" || strings.ContainsAny(v.Reason, "\n\r") {
		t.Errorf("reason %q must be one non-empty line", v.Reason)
	}
	for _, s := range says {
		if !strings.Contains(v.Reason, s) {
			t.Errorf("reason %q does not say %q", v.Reason, s)
		}
	}
}
