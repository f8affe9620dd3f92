package finding

import (
	"encoding/json"
	"strings"
)

// Finding is one GuardDuty finding as EventBridge delivers it in detail
// (camelCase keys). It holds the fields the runbook, the policy and the report
// use; unknown fields are ignored because GuardDuty adds fields over time.
type Finding struct {
	SchemaVersion string    `json:"schemaVersion,omitempty"`
	AccountID     string    `json:"accountId,omitempty"`
	Region        string    `json:"region,omitempty"`
	Partition     string    `json:"partition,omitempty"`
	ID            string    `json:"id,omitempty"`
	Arn           string    `json:"arn,omitempty"`
	Type          string    `json:"type"`
	Severity      float64   `json:"severity"`
	CreatedAt     Timestamp `json:"createdAt,omitzero"`
	UpdatedAt     Timestamp `json:"updatedAt,omitzero"`
	Title         string    `json:"title,omitempty"`
	Description   string    `json:"description,omitempty"`
	Resource      Resource  `json:"resource"`
	Service       Service   `json:"service"`
}

// Resource is the resource the finding is about.
type Resource struct {
	ResourceType         string                `json:"resourceType,omitempty"`
	InstanceDetails      *InstanceDetails      `json:"instanceDetails,omitempty"`
	AccessKeyDetails     *AccessKeyDetails     `json:"accessKeyDetails,omitempty"`
	EbsSnapshotDetails   *EbsSnapshotDetails   `json:"ebsSnapshotDetails,omitempty"`
	Ec2ImageDetails      *Ec2ImageDetails      `json:"ec2ImageDetails,omitempty"`
	RecoveryPointDetails *RecoveryPointDetails `json:"recoveryPointDetails,omitempty"`
}

// InstanceDetails is the instance as GuardDuty saw it at detection time. The
// runbook acts on live state, not on this picture.
type InstanceDetails struct {
	InstanceID         string              `json:"instanceId,omitempty"`
	InstanceType       string              `json:"instanceType,omitempty"`
	InstanceState      string              `json:"instanceState,omitempty"`
	LaunchTime         Timestamp           `json:"launchTime,omitzero"`
	Platform           string              `json:"platform,omitempty"`
	ImageID            string              `json:"imageId,omitempty"`
	ImageDescription   string              `json:"imageDescription,omitempty"`
	AvailabilityZone   string              `json:"availabilityZone,omitempty"`
	OutpostArn         string              `json:"outpostArn,omitempty"`
	IamInstanceProfile *IamInstanceProfile `json:"iamInstanceProfile,omitempty"`
	NetworkInterfaces  []NetworkInterface  `json:"networkInterfaces,omitempty"`
	Tags               []Tag               `json:"tags,omitempty"`
}

// IamInstanceProfile names an instance profile (a profile ARN, not a role ARN).
type IamInstanceProfile struct {
	Arn string `json:"arn,omitempty"`
	ID  string `json:"id,omitempty"`
}

// NetworkInterface is one ENI of the instance at detection time.
type NetworkInterface struct {
	NetworkInterfaceID string             `json:"networkInterfaceId,omitempty"`
	PrivateIPAddress   string             `json:"privateIpAddress,omitempty"`
	PrivateDNSName     string             `json:"privateDnsName,omitempty"`
	PrivateIPAddresses []PrivateIPAddress `json:"privateIpAddresses,omitempty"`
	Ipv6Addresses      []string           `json:"ipv6Addresses,omitempty"`
	PublicIP           string             `json:"publicIp,omitempty"`
	PublicDNSName      string             `json:"publicDnsName,omitempty"`
	SecurityGroups     []SecurityGroup    `json:"securityGroups,omitempty"`
	SubnetID           string             `json:"subnetId,omitempty"`
	VpcID              string             `json:"vpcId,omitempty"`
}

// PrivateIPAddress is one private IPv4 address of an ENI.
type PrivateIPAddress struct {
	PrivateIPAddress string `json:"privateIpAddress,omitempty"`
	PrivateDNSName   string `json:"privateDnsName,omitempty"`
}

// SecurityGroup is a group attached to an ENI.
type SecurityGroup struct {
	GroupID   string `json:"groupId,omitempty"`
	GroupName string `json:"groupName,omitempty"`
}

// Tag is a key/value pair as GuardDuty writes it.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// AccessKeyDetails is the principal of an IAM (AccessKey) finding.
type AccessKeyDetails struct {
	AccessKeyID string `json:"accessKeyId,omitempty"`
	PrincipalID string `json:"principalId,omitempty"`
	UserName    string `json:"userName,omitempty"`
	UserType    string `json:"userType,omitempty"`
}

// EbsSnapshotDetails names the snapshot a Malware Protection scan looked at.
type EbsSnapshotDetails struct {
	SnapshotArn string `json:"snapshotArn,omitempty"`
}

// Ec2ImageDetails names the AMI a Malware Protection scan looked at.
type Ec2ImageDetails struct {
	ImageArn string `json:"imageArn,omitempty"`
}

// RecoveryPointDetails names the AWS Backup recovery point that was scanned.
type RecoveryPointDetails struct {
	RecoveryPointArn string `json:"recoveryPointArn,omitempty"`
	BackupVaultName  string `json:"backupVaultName,omitempty"`
}

// Service is the GuardDuty part of the finding: what was seen, how often, by
// which feature.
type Service struct {
	ServiceName          string                `json:"serviceName,omitempty"`
	DetectorID           string                `json:"detectorId,omitempty"`
	Action               *Action               `json:"action,omitempty"`
	ResourceRole         string                `json:"resourceRole,omitempty"`
	Count                int64                 `json:"count,omitempty"`
	EventFirstSeen       Timestamp             `json:"eventFirstSeen,omitzero"`
	EventLastSeen        Timestamp             `json:"eventLastSeen,omitzero"`
	Archived             bool                  `json:"archived,omitempty"`
	FeatureName          string                `json:"featureName,omitempty"`
	AdditionalInfo       AdditionalInfo        `json:"additionalInfo,omitzero"`
	RuntimeDetails       *RuntimeDetails       `json:"runtimeDetails,omitempty"`
	EbsVolumeScanDetails *EbsVolumeScanDetails `json:"ebsVolumeScanDetails,omitempty"`
	Detection            *Detection            `json:"detection,omitempty"`
}

// Action says what GuardDuty observed. Runtime Monitoring findings send {} or
// nothing at all.
type Action struct {
	ActionType              string                   `json:"actionType,omitempty"`
	NetworkConnectionAction *NetworkConnectionAction `json:"networkConnectionAction,omitempty"`
	PortProbeAction         *PortProbeAction         `json:"portProbeAction,omitempty"`
	DNSRequestAction        *DNSRequestAction        `json:"dnsRequestAction,omitempty"`
	AwsAPICallAction        *AwsAPICallAction        `json:"awsApiCallAction,omitempty"`
}

// NetworkConnectionAction is a connection between the resource and a remote host.
type NetworkConnectionAction struct {
	ConnectionDirection string       `json:"connectionDirection,omitempty"`
	Protocol            string       `json:"protocol,omitempty"`
	Blocked             bool         `json:"blocked,omitempty"`
	LocalIPDetails      *IPDetails   `json:"localIpDetails,omitempty"`
	RemoteIPDetails     *IPDetails   `json:"remoteIpDetails,omitempty"`
	LocalPortDetails    *PortDetails `json:"localPortDetails,omitempty"`
	RemotePortDetails   *PortDetails `json:"remotePortDetails,omitempty"`
}

// PortProbeAction lists unprotected ports probed from outside.
type PortProbeAction struct {
	Blocked          bool              `json:"blocked,omitempty"`
	PortProbeDetails []PortProbeDetail `json:"portProbeDetails,omitempty"`
}

// PortProbeDetail is one probed port and who probed it.
type PortProbeDetail struct {
	LocalPortDetails *PortDetails `json:"localPortDetails,omitempty"`
	LocalIPDetails   *IPDetails   `json:"localIpDetails,omitempty"`
	RemoteIPDetails  *IPDetails   `json:"remoteIpDetails,omitempty"`
}

// DNSRequestAction is a DNS query the resource made.
type DNSRequestAction struct {
	Domain           string `json:"domain,omitempty"`
	DomainWithSuffix string `json:"domainWithSuffix,omitempty"`
	Protocol         string `json:"protocol,omitempty"`
	Blocked          bool   `json:"blocked,omitempty"`
}

// AwsAPICallAction is an AWS API call tied to the finding.
type AwsAPICallAction struct {
	API             string     `json:"api,omitempty"`
	ServiceName     string     `json:"serviceName,omitempty"`
	CallerType      string     `json:"callerType,omitempty"`
	RemoteIPDetails *IPDetails `json:"remoteIpDetails,omitempty"`
}

// IPDetails is an address with what GuardDuty knows about it.
type IPDetails struct {
	IPAddressV4  string        `json:"ipAddressV4,omitempty"`
	IPAddressV6  string        `json:"ipAddressV6,omitempty"`
	Organization *Organization `json:"organization,omitempty"`
	Country      *Country      `json:"country,omitempty"`
	City         *City         `json:"city,omitempty"`
}

// Organization is the owner of a remote address.
type Organization struct {
	Asn    string `json:"asn,omitempty"`
	AsnOrg string `json:"asnOrg,omitempty"`
	Isp    string `json:"isp,omitempty"`
	Org    string `json:"org,omitempty"`
}

// Country is where a remote address is.
type Country struct {
	CountryCode string `json:"countryCode,omitempty"`
	CountryName string `json:"countryName,omitempty"`
}

// City is where a remote address is.
type City struct {
	CityName string `json:"cityName,omitempty"`
}

// PortDetails is a port and its well-known name.
type PortDetails struct {
	Port     int    `json:"port,omitempty"`
	PortName string `json:"portName,omitempty"`
}

// RuntimeDetails is what the Runtime Monitoring agent saw. Paths and command
// lines in here are chosen by the attacker: escape them before display.
type RuntimeDetails struct {
	Process *Process        `json:"process,omitempty"`
	Context *RuntimeContext `json:"context,omitempty"`
}

// Process is a process observed by Runtime Monitoring.
type Process struct {
	Name             string    `json:"name,omitempty"`
	ExecutablePath   string    `json:"executablePath,omitempty"`
	ExecutableSha256 string    `json:"executableSha256,omitempty"`
	NamespacePid     int64     `json:"namespacePid,omitempty"`
	Pwd              string    `json:"pwd,omitempty"`
	Pid              int64     `json:"pid,omitempty"`
	StartTime        Timestamp `json:"startTime,omitzero"`
	UUID             string    `json:"uuid,omitempty"`
	ParentUUID       string    `json:"parentUuid,omitempty"`
	User             string    `json:"user,omitempty"`
	UserID           int64     `json:"userId,omitempty"`
	Euid             int64     `json:"euid,omitempty"`
	Lineage          []Process `json:"lineage,omitempty"`
}

// RuntimeContext is the extra context of a Runtime Monitoring finding.
type RuntimeContext struct {
	ModifyingProcess     *Process  `json:"modifyingProcess,omitempty"`
	ModifiedAt           Timestamp `json:"modifiedAt,omitzero"`
	ScriptPath           string    `json:"scriptPath,omitempty"`
	LibraryPath          string    `json:"libraryPath,omitempty"`
	LdPreloadValue       string    `json:"ldPreloadValue,omitempty"`
	SocketPath           string    `json:"socketPath,omitempty"`
	MountSource          string    `json:"mountSource,omitempty"`
	MountTarget          string    `json:"mountTarget,omitempty"`
	ModuleName           string    `json:"moduleName,omitempty"`
	ModuleFilePath       string    `json:"moduleFilePath,omitempty"`
	ShellHistoryFilePath string    `json:"shellHistoryFilePath,omitempty"`
	TargetProcess        *Process  `json:"targetProcess,omitempty"`
	AddressFamily        string    `json:"addressFamily,omitempty"`
	IanaProtocolNumber   int       `json:"ianaProtocolNumber,omitempty"`
	ToolName             string    `json:"toolName,omitempty"`
	ToolCategory         string    `json:"toolCategory,omitempty"`
	CommandLineExample   string    `json:"commandLineExample,omitempty"`
	ThreatFilePath       string    `json:"threatFilePath,omitempty"`
}

// EbsVolumeScanDetails is a Malware Protection scan of the instance's volumes.
type EbsVolumeScanDetails struct {
	ScanID           string          `json:"scanId,omitempty"`
	ScanStartedAt    Timestamp       `json:"scanStartedAt,omitzero"`
	ScanCompletedAt  Timestamp       `json:"scanCompletedAt,omitzero"`
	TriggerFindingID string          `json:"triggerFindingId,omitempty"`
	Sources          []string        `json:"sources,omitempty"`
	ScanType         string          `json:"scanType,omitempty"`
	ScanDetections   *ScanDetections `json:"scanDetections,omitempty"`
}

// ScanDetections summarises what a malware scan found.
type ScanDetections struct {
	ThreatDetectedByName *ThreatDetectedByName `json:"threatDetectedByName,omitempty"`
}

// ThreatDetectedByName groups scan detections by threat name.
type ThreatDetectedByName struct {
	ItemCount             int          `json:"itemCount,omitempty"`
	UniqueThreatNameCount int          `json:"uniqueThreatNameCount,omitempty"`
	Shortened             bool         `json:"shortened,omitempty"`
	ThreatNames           []ThreatName `json:"threatNames,omitempty"`
}

// ThreatName is one malware family found by a scan, with the files.
type ThreatName struct {
	Name      string     `json:"name,omitempty"`
	Severity  string     `json:"severity,omitempty"`
	ItemCount int        `json:"itemCount,omitempty"`
	FilePaths []FilePath `json:"filePaths,omitempty"`
}

// FilePath is an infected file. Its path was chosen by the attacker.
type FilePath struct {
	FilePath  string `json:"filePath,omitempty"`
	VolumeArn string `json:"volumeArn,omitempty"`
	Hash      string `json:"hash,omitempty"`
	FileName  string `json:"fileName,omitempty"`
}

// Detection holds anomaly details or, for attack sequence findings, the sequence.
type Detection struct {
	Sequence *Sequence `json:"sequence,omitempty"`
}

// Sequence is an Extended Threat Detection attack sequence (GuardDuty API
// type Sequence). resources[] lists every resource involved; the finding's own
// resource.instanceDetails names at most one of them.
type Sequence struct {
	UID                     string             `json:"uid,omitempty"`
	Description             string             `json:"description,omitempty"`
	Resources               []SequenceResource `json:"resources,omitempty"`
	Signals                 []Signal           `json:"signals,omitempty"`
	AdditionalSequenceTypes []string           `json:"additionalSequenceTypes,omitempty"`
}

// SequenceResource is a ResourceV2: uid plus resourceType (EC2_INSTANCE,
// AUTOSCALING_AUTO_SCALING_GROUP, ...). resourceArn is read too, since some
// producers name the resource by ARN.
type SequenceResource struct {
	UID            string        `json:"uid,omitempty"`
	ResourceArn    string        `json:"resourceArn,omitempty"`
	ResourceType   string        `json:"resourceType,omitempty"`
	Name           string        `json:"name,omitempty"`
	AccountID      string        `json:"accountId,omitempty"`
	Region         string        `json:"region,omitempty"`
	Service        string        `json:"service,omitempty"`
	CloudPartition string        `json:"cloudPartition,omitempty"`
	Tags           []Tag         `json:"tags,omitempty"`
	Data           *ResourceData `json:"data,omitempty"`
}

// ResourceData holds the group-level resources of an instance-group sequence,
// each listing the compromised instances it contains.
type ResourceData struct {
	AutoscalingAutoScalingGroup *InstanceGroup `json:"autoscalingAutoScalingGroup,omitempty"`
	Ec2Vpc                      *InstanceGroup `json:"ec2Vpc,omitempty"`
	IamInstanceProfile          *InstanceGroup `json:"iamInstanceProfile,omitempty"`
	Ec2LaunchTemplate           *InstanceGroup `json:"ec2LaunchTemplate,omitempty"`
	Ec2Image                    *InstanceGroup `json:"ec2Image,omitempty"`
	CloudformationStack         *InstanceGroup `json:"cloudformationStack,omitempty"`
}

// InstanceGroup is the part of a group resource that names its instances.
type InstanceGroup struct {
	Ec2InstanceUids []string `json:"ec2InstanceUids,omitempty"`
}

// Signal is one finding or API activity that an attack sequence is built from.
type Signal struct {
	UID          string    `json:"uid,omitempty"`
	Type         string    `json:"type,omitempty"`
	Name         string    `json:"name,omitempty"`
	Description  string    `json:"description,omitempty"`
	Severity     float64   `json:"severity,omitempty"`
	Count        int64     `json:"count,omitempty"`
	FirstSeenAt  Timestamp `json:"firstSeenAt,omitzero"`
	LastSeenAt   Timestamp `json:"lastSeenAt,omitzero"`
	ResourceUids []string  `json:"resourceUids,omitempty"`
}

// InstanceID is the id of the instance the finding is about, as GuardDuty
// wrote it (check it with ValidInstanceID before acting).
func (f *Finding) InstanceID() string {
	if f == nil || f.Resource.InstanceDetails == nil {
		return ""
	}
	return strings.TrimSpace(f.Resource.InstanceDetails.InstanceID)
}

// IsSample reports whether the finding is one GuardDuty generated as a sample.
func (f *Finding) IsSample() bool {
	return f != nil && f.Service.AdditionalInfo.Sample()
}

// ResourceRole is "ACTOR", "TARGET" or "" when GuardDuty did not say (Runtime
// Monitoring and Malware Protection findings carry no role).
func (f *Finding) ResourceRole() string {
	if f == nil {
		return ""
	}
	switch role := strings.ToUpper(strings.TrimSpace(f.Service.ResourceRole)); role {
	case "ACTOR", "TARGET":
		return role
	default:
		return ""
	}
}

// Count is how many times GuardDuty has seen the activity; re-published
// findings keep their id and carry a larger count.
func (f *Finding) Count() int64 {
	if f == nil {
		return 0
	}
	return f.Service.Count
}

// ResourceType is resource.resourceType ("Instance", "AccessKey", ...).
func (f *Finding) ResourceType() string {
	if f == nil {
		return ""
	}
	return f.Resource.ResourceType
}

// SequenceInstances lists, in order and without repeats, the instance ids an
// attack sequence names: EC2 instance resources (by uid or ARN) and the
// ec2InstanceUids of group resources (Auto Scaling group, VPC, ...). Ids are
// returned as found; check them with ValidInstanceID.
func (f *Finding) SequenceInstances() []string {
	if f == nil || f.Service.Detection == nil || f.Service.Detection.Sequence == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		id, ok := instanceIDFrom(s)
		if ok && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, r := range f.Service.Detection.Sequence.Resources {
		switch {
		case isInstanceResourceType(r.ResourceType):
			if r.UID != "" {
				add(r.UID)
			} else {
				add(r.ResourceArn)
			}
		case isInstanceARN(r.ResourceArn):
			add(r.ResourceArn)
		case isInstanceARN(r.UID):
			add(r.UID)
		}
		if r.Data == nil {
			continue
		}
		for _, g := range []*InstanceGroup{r.Data.AutoscalingAutoScalingGroup, r.Data.Ec2Vpc, r.Data.IamInstanceProfile,
			r.Data.Ec2LaunchTemplate, r.Data.Ec2Image, r.Data.CloudformationStack} {
			if g == nil {
				continue
			}
			for _, uid := range g.Ec2InstanceUids {
				add(uid)
			}
		}
	}
	return out
}

// isInstanceResourceType accepts the GuardDuty ResourceV2 spelling
// (EC2_INSTANCE), the classic finding one (Instance) and the ASFF one.
func isInstanceResourceType(t string) bool {
	switch strings.ToLower(strings.ReplaceAll(t, "_", "")) {
	case "ec2instance", "instance", "awsec2instance":
		return true
	}
	return false
}

func isInstanceARN(s string) bool {
	if !strings.HasPrefix(s, "arn:") {
		return false
	}
	_, ok := instanceIDFrom(s)
	return ok
}

// decodeFinding reads a GuardDuty finding tolerantly: unknown fields are
// ignored, since GuardDuty adds fields over time.
func decodeFinding(detail json.RawMessage) (*Finding, error) {
	var f Finding
	if err := json.Unmarshal(detail, &f); err != nil {
		return nil, err
	}
	return &f, nil
}
