package policy

import "strings"

// kind is what a finding type says about the instance, per the GuardDuty
// finding type reference (ThreatPurpose:ResourceTypeAffected/ThreatFamilyName).
type kind struct {
	purpose, resource, name string
	// compromise: the instance is the actor of malicious activity.
	compromise bool
	// roleDependent: brute force, where the role says attacker or victim.
	roleDependent bool
	// alwaysTarget: the instance is only ever probed.
	alwaysTarget bool
}

var (
	bruteForce = map[string]bool{
		"UnauthorizedAccess:EC2/SSHBruteForce": true,
		"UnauthorizedAccess:EC2/RDPBruteForce": true,
		"Impact:EC2/WinRMBruteForce":           true,
	}
	probed = map[string]bool{
		"Recon:EC2/PortProbeUnprotectedPort":    true,
		"Recon:EC2/PortProbeEMRUnprotectedPort": true,
	}
	compromiseExact = map[string]bool{
		"Impact:EC2/PortSweep":                            true,
		"Recon:EC2/Portscan":                              true,
		"UnauthorizedAccess:EC2/TorClient":                true,
		"UnauthorizedAccess:EC2/TorRelay":                 true,
		"UnauthorizedAccess:EC2/MaliciousIPCaller.Custom": true,
		"UnauthorizedAccess:EC2/MetadataDNSRebind":        true,
		"Execution:EC2/MaliciousFile":                     true,
	}
	// Whole EC2 families that only fire when the instance itself misbehaves.
	compromiseFamilies = map[string]bool{
		"Backdoor": true, "CryptoCurrency": true, "Trojan": true, "Behavior": true, "DefenseEvasion": true,
	}
)

func classify(t string) kind {
	var k kind
	purpose, rest, _ := strings.Cut(t, ":")
	k.purpose = purpose
	k.resource, k.name, _ = strings.Cut(rest, "/")
	switch {
	case bruteForce[t]:
		k.roleDependent = true
	case probed[t]:
		k.alwaysTarget = true
	case compromiseExact[t]:
		k.compromise = true
	case k.resource == "EC2" && compromiseFamilies[k.purpose]:
		k.compromise = true
	case k.resource == "EC2" && k.purpose == "Impact" && strings.Contains(k.name, "DomainRequest"):
		k.compromise = true
	case k.resource == "Runtime" && k.name != "":
		// Runtime Monitoring types mean a process on the host misbehaved; the
		// caller has already required an Instance resource.
		k.compromise = true
	}
	return k
}

// scannedCopy recognises Malware Protection findings about a copy of the
// disk rather than the running instance ("!Snapshot", "!AMI", "!RecoveryPoint").
func scannedCopy(t string) (string, bool) {
	_, suffix, ok := strings.Cut(t, "!")
	if !ok {
		return "", false
	}
	switch suffix {
	case "Snapshot":
		return "an EBS snapshot", true
	case "AMI":
		return "a machine image (AMI)", true
	case "RecoveryPoint":
		return "a backup recovery point", true
	}
	return "", false
}
