package awsfake

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// IAM quotas the fake enforces, as the IAM User Guide's "IAM and AWS STS
// quotas" page states them: 6,144 characters per managed policy (whitespace
// not counted), 5 versions per managed policy, 10 managed policies attached
// per role by default (adjustable up to 25, which SetManagedPolicyQuota models).
const (
	MaxManagedPolicyChars     = 6144
	MaxPolicyVersions         = 5
	DefaultManagedPolicyQuota = 10
)

// IAM is the fake IAM API (awsapi.IAM). IAM is global: one account's roles,
// instance profiles and policies are seen from every Region's world alike in
// AWS; the fake keeps them in the world that holds the account.
type IAM struct{ w *World }

type instanceProfile struct {
	name, id, arn, path string
	role                string // the role's name; a profile holds at most one role
}

type managedPolicy struct {
	name, id, arn, path string
	versions            []policyVersion // oldest first
	defaultVersion      string
	nextVersion         int
	attachments         int
}

type policyVersion struct {
	id  string
	doc string
}

// AddInstanceRole creates a role EC2 may assume (an instance's role) with
// tags, and returns its ARN.
func (w *World) AddInstanceRole(name string, tags map[string]string) string {
	arn := w.AddRole(name, Trust{})
	w.mu.Lock()
	defer w.mu.Unlock()
	r, _ := w.roles.get(name)
	r.tags = tagsFrom(tags)
	return arn
}

// AddInstanceProfile creates an instance profile holding role and returns its ARN.
func (w *World) AddInstanceProfile(name, role string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.roles.get(role); !ok {
		panic(fmt.Sprintf("awsfake: no role %q for instance profile %q", role, name))
	}
	p := &instanceProfile{name: name, path: "/", role: role,
		arn: fmt.Sprintf("arn:aws:iam::%s:instance-profile/%s", w.account, name)}
	p.id = nameID("AIPA", p.arn)
	w.profiles.put(p.arn, p)
	return p.arn
}

// AttachAWSManagedPolicy seeds an AWS managed policy (arn:aws:iam::aws:policy/...)
// on a role: it counts against the role's quota like any attached policy.
func (w *World) AttachAWSManagedPolicy(role, arn string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.roles.get(role)
	if !ok {
		panic(fmt.Sprintf("awsfake: no role %q", role))
	}
	r.attached = append(r.attached, arn)
}

// SetManagedPolicyQuota sets the account's "managed policies per role" quota.
func (w *World) SetManagedPolicyQuota(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.managedPolicyQuota = n
}

// AttachedPolicies lists the ARNs of the policies attached to a role.
func (w *World) AttachedPolicies(role string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r, ok := w.roles.get(role); ok {
		return slices.Clone(r.attached)
	}
	return nil
}

// PolicyDocument is the default version's document of a customer managed policy.
func (w *World) PolicyDocument(arn string) (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, ok := w.policies.get(arn)
	if !ok {
		return "", false
	}
	return p.version(p.defaultVersion).doc, true
}

// nameID derives an IAM-style unique id (AROA..., AIPA..., ANPA...) from the
// entity's ARN without drawing from the world's id sequence, so seeding IAM
// never shifts the EC2 ids that tests and golden files name.
func nameID(prefix, key string) string {
	h := fnv.New64a()
	h.Write([]byte(key))
	return fmt.Sprintf("%s%017X", prefix, h.Sum64())
}

func (w *World) quota() int { return cmp.Or(w.managedPolicyQuota, DefaultManagedPolicyQuota) }

func (p *managedPolicy) version(id string) *policyVersion {
	for i := range p.versions {
		if p.versions[i].id == id {
			return &p.versions[i]
		}
	}
	return nil
}

func errNoSuchEntity(format string, args ...any) error {
	return apiError("NoSuchEntity", format, args...)
}

func (w *World) iamRole(name *string) (*role, error) {
	if aws.ToString(name) == "" {
		return nil, apiError("ValidationError", "1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null")
	}
	r, ok := w.roles.get(*name)
	if !ok {
		return nil, errNoSuchEntity("The role with name %s cannot be found.", *name)
	}
	return r, nil
}

func (w *World) iamPolicy(arn *string) (*managedPolicy, error) {
	if aws.ToString(arn) == "" {
		return nil, apiError("ValidationError", "1 validation error detected: Value null at 'policyArn' failed to satisfy constraint: Member must not be null")
	}
	p, ok := w.policies.get(*arn)
	if !ok {
		return nil, errNoSuchEntity("Policy %s does not exist or is not attachable.", *arn)
	}
	return p, nil
}

// checkDocument applies IAM's checks on a policy document: JSON, a Version
// and a Statement, and the size quota counted without whitespace.
func checkDocument(doc string) error {
	var parsed struct {
		Version   string
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &parsed); err != nil || len(parsed.Statement) == 0 {
		return apiError("MalformedPolicyDocument", "Syntax errors in policy.")
	}
	n := 0
	for _, r := range doc {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	if n > MaxManagedPolicyChars {
		return apiError("LimitExceeded", "Cannot exceed quota for PolicySize: %d", MaxManagedPolicyChars)
	}
	return nil
}

func (w *World) sdkRole(r *role) *iamtypes.Role {
	return &iamtypes.Role{RoleName: aws.String(r.name), Arn: aws.String(r.arn), RoleId: aws.String(r.id), Path: aws.String("/"),
		Tags: r.tags.iam(), CreateDate: aws.Time(Epoch), MaxSessionDuration: aws.Int32(int32(r.maxSession.Seconds()))}
}

func (t tags) iam() []iamtypes.Tag {
	var out []iamtypes.Tag
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range t {
			if !yield(k) {
				return
			}
		}
	}) {
		out = append(out, iamtypes.Tag{Key: aws.String(k), Value: aws.String(t[k])})
	}
	return out
}

func (p *managedPolicy) sdk() *iamtypes.Policy {
	return &iamtypes.Policy{PolicyName: aws.String(p.name), PolicyId: aws.String(p.id), Arn: aws.String(p.arn), Path: aws.String(p.path),
		DefaultVersionId: aws.String(p.defaultVersion), AttachmentCount: aws.Int32(int32(p.attachments)), IsAttachable: true, CreateDate: aws.Time(Epoch)}
}

// GetRole reads a role.
func (c *IAM) GetRole(ctx context.Context, in *iam.GetRoleInput, _ ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
	return call(ctx, c.w, svcIAM, "GetRole", in, func(in *iam.GetRoleInput) (*iam.GetRoleOutput, error) {
		r, err := c.w.iamRole(in.RoleName)
		if err != nil {
			return nil, err
		}
		return &iam.GetRoleOutput{Role: c.w.sdkRole(r)}, nil
	})
}

// ListRoleTags lists a role's tags.
func (c *IAM) ListRoleTags(ctx context.Context, in *iam.ListRoleTagsInput, _ ...func(*iam.Options)) (*iam.ListRoleTagsOutput, error) {
	return call(ctx, c.w, svcIAM, "ListRoleTags", in, func(in *iam.ListRoleTagsInput) (*iam.ListRoleTagsOutput, error) {
		r, err := c.w.iamRole(in.RoleName)
		if err != nil {
			return nil, err
		}
		return &iam.ListRoleTagsOutput{Tags: r.tags.iam()}, nil
	})
}

// GetInstanceProfile reads an instance profile and its role.
func (c *IAM) GetInstanceProfile(ctx context.Context, in *iam.GetInstanceProfileInput, _ ...func(*iam.Options)) (*iam.GetInstanceProfileOutput, error) {
	return call(ctx, c.w, svcIAM, "GetInstanceProfile", in, func(in *iam.GetInstanceProfileInput) (*iam.GetInstanceProfileOutput, error) {
		name := aws.ToString(in.InstanceProfileName)
		for _, p := range c.w.profiles.all() {
			if p.name != name {
				continue
			}
			out := &iamtypes.InstanceProfile{InstanceProfileName: aws.String(p.name), InstanceProfileId: aws.String(p.id), Arn: aws.String(p.arn),
				Path: aws.String(p.path), CreateDate: aws.Time(Epoch)}
			if r, ok := c.w.roles.get(p.role); ok {
				out.Roles = []iamtypes.Role{*c.w.sdkRole(r)}
			}
			return &iam.GetInstanceProfileOutput{InstanceProfile: out}, nil
		}
		return nil, errNoSuchEntity("Instance Profile %s cannot be found.", name)
	})
}

var policyName = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)

// CreatePolicy creates a customer managed policy with its first version (v1, default).
func (c *IAM) CreatePolicy(ctx context.Context, in *iam.CreatePolicyInput, _ ...func(*iam.Options)) (*iam.CreatePolicyOutput, error) {
	return call(ctx, c.w, svcIAM, "CreatePolicy", in, func(in *iam.CreatePolicyInput) (*iam.CreatePolicyOutput, error) {
		name, path := aws.ToString(in.PolicyName), cmp.Or(aws.ToString(in.Path), "/")
		if !policyName.MatchString(name) {
			return nil, apiError("ValidationError", "The specified value for policyName is invalid.")
		}
		if !strings.HasPrefix(path, "/") || !strings.HasSuffix(path, "/") {
			return nil, apiError("ValidationError", "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
		}
		if err := checkDocument(aws.ToString(in.PolicyDocument)); err != nil {
			return nil, err
		}
		arn := fmt.Sprintf("arn:aws:iam::%s:policy%s%s", c.w.account, path, name)
		for _, p := range c.w.policies.all() {
			// Policy names are unique in the account, whatever the path.
			if p.name == name {
				return nil, apiError("EntityAlreadyExists", "A policy called %s already exists. Duplicate names are not allowed.", name)
			}
		}
		p := &managedPolicy{name: name, path: path, arn: arn, id: nameID("ANPA", arn),
			versions: []policyVersion{{id: "v1", doc: aws.ToString(in.PolicyDocument)}}, defaultVersion: "v1", nextVersion: 2}
		c.w.policies.put(arn, p)
		return &iam.CreatePolicyOutput{Policy: p.sdk()}, nil
	})
}

// GetPolicy reads a policy's metadata, including its default version id.
func (c *IAM) GetPolicy(ctx context.Context, in *iam.GetPolicyInput, _ ...func(*iam.Options)) (*iam.GetPolicyOutput, error) {
	return call(ctx, c.w, svcIAM, "GetPolicy", in, func(in *iam.GetPolicyInput) (*iam.GetPolicyOutput, error) {
		p, err := c.w.iamPolicy(in.PolicyArn)
		if err != nil {
			return nil, err
		}
		return &iam.GetPolicyOutput{Policy: p.sdk()}, nil
	})
}

// GetPolicyVersion returns a version's document URL-encoded (RFC 3986), as IAM does.
func (c *IAM) GetPolicyVersion(ctx context.Context, in *iam.GetPolicyVersionInput, _ ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error) {
	return call(ctx, c.w, svcIAM, "GetPolicyVersion", in, func(in *iam.GetPolicyVersionInput) (*iam.GetPolicyVersionOutput, error) {
		p, err := c.w.iamPolicy(in.PolicyArn)
		if err != nil {
			return nil, err
		}
		v := p.version(aws.ToString(in.VersionId))
		if v == nil {
			return nil, errNoSuchEntity("Policy %s version %s does not exist or is not attachable.", p.arn, aws.ToString(in.VersionId))
		}
		return &iam.GetPolicyVersionOutput{PolicyVersion: &iamtypes.PolicyVersion{VersionId: aws.String(v.id),
			Document: aws.String(strings.ReplaceAll(url.QueryEscape(v.doc), "+", "%20")), IsDefaultVersion: v.id == p.defaultVersion, CreateDate: aws.Time(Epoch)}}, nil
	})
}

// CreatePolicyVersion adds a version; a policy holds at most five.
func (c *IAM) CreatePolicyVersion(ctx context.Context, in *iam.CreatePolicyVersionInput, _ ...func(*iam.Options)) (*iam.CreatePolicyVersionOutput, error) {
	return call(ctx, c.w, svcIAM, "CreatePolicyVersion", in, func(in *iam.CreatePolicyVersionInput) (*iam.CreatePolicyVersionOutput, error) {
		p, err := c.w.iamPolicy(in.PolicyArn)
		if err != nil {
			return nil, err
		}
		if err := checkDocument(aws.ToString(in.PolicyDocument)); err != nil {
			return nil, err
		}
		if len(p.versions) >= MaxPolicyVersions {
			return nil, apiError("LimitExceeded", "A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", MaxPolicyVersions)
		}
		v := policyVersion{id: "v" + strconv.Itoa(p.nextVersion), doc: aws.ToString(in.PolicyDocument)}
		p.nextVersion++
		p.versions = append(p.versions, v)
		if in.SetAsDefault {
			p.defaultVersion = v.id
		}
		return &iam.CreatePolicyVersionOutput{PolicyVersion: &iamtypes.PolicyVersion{VersionId: aws.String(v.id), IsDefaultVersion: in.SetAsDefault, CreateDate: aws.Time(Epoch)}}, nil
	})
}

// DeletePolicyVersion deletes a version other than the default.
func (c *IAM) DeletePolicyVersion(ctx context.Context, in *iam.DeletePolicyVersionInput, _ ...func(*iam.Options)) (*iam.DeletePolicyVersionOutput, error) {
	return call(ctx, c.w, svcIAM, "DeletePolicyVersion", in, func(in *iam.DeletePolicyVersionInput) (*iam.DeletePolicyVersionOutput, error) {
		p, err := c.w.iamPolicy(in.PolicyArn)
		if err != nil {
			return nil, err
		}
		id := aws.ToString(in.VersionId)
		if p.version(id) == nil {
			return nil, errNoSuchEntity("Policy %s version %s does not exist.", p.arn, id)
		}
		if id == p.defaultVersion {
			return nil, apiError("DeleteConflict", "Cannot delete the default version of a policy.")
		}
		p.versions = slices.DeleteFunc(p.versions, func(v policyVersion) bool { return v.id == id })
		return &iam.DeletePolicyVersionOutput{}, nil
	})
}

// ListPolicyVersions lists a policy's versions, newest first as IAM does.
func (c *IAM) ListPolicyVersions(ctx context.Context, in *iam.ListPolicyVersionsInput, _ ...func(*iam.Options)) (*iam.ListPolicyVersionsOutput, error) {
	return call(ctx, c.w, svcIAM, "ListPolicyVersions", in, func(in *iam.ListPolicyVersionsInput) (*iam.ListPolicyVersionsOutput, error) {
		p, err := c.w.iamPolicy(in.PolicyArn)
		if err != nil {
			return nil, err
		}
		out := &iam.ListPolicyVersionsOutput{}
		for i := len(p.versions) - 1; i >= 0; i-- {
			v := p.versions[i]
			out.Versions = append(out.Versions, iamtypes.PolicyVersion{VersionId: aws.String(v.id), IsDefaultVersion: v.id == p.defaultVersion, CreateDate: aws.Time(Epoch)})
		}
		return out, nil
	})
}

// DeletePolicy deletes a policy that is attached nowhere and has only its default version left.
func (c *IAM) DeletePolicy(ctx context.Context, in *iam.DeletePolicyInput, _ ...func(*iam.Options)) (*iam.DeletePolicyOutput, error) {
	return call(ctx, c.w, svcIAM, "DeletePolicy", in, func(in *iam.DeletePolicyInput) (*iam.DeletePolicyOutput, error) {
		p, err := c.w.iamPolicy(in.PolicyArn)
		if err != nil {
			return nil, err
		}
		if p.attachments > 0 {
			return nil, apiError("DeleteConflict", "Cannot delete a policy attached to entities.")
		}
		if len(p.versions) > 1 {
			return nil, apiError("DeleteConflict", "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
		}
		delete(c.w.policies.m, p.arn)
		c.w.policies.order = slices.DeleteFunc(c.w.policies.order, func(a string) bool { return a == p.arn })
		return &iam.DeletePolicyOutput{}, nil
	})
}

// AttachRolePolicy attaches a managed policy to a role, within the role's quota.
func (c *IAM) AttachRolePolicy(ctx context.Context, in *iam.AttachRolePolicyInput, _ ...func(*iam.Options)) (*iam.AttachRolePolicyOutput, error) {
	return call(ctx, c.w, svcIAM, "AttachRolePolicy", in, func(in *iam.AttachRolePolicyInput) (*iam.AttachRolePolicyOutput, error) {
		r, err := c.w.iamRole(in.RoleName)
		if err != nil {
			return nil, err
		}
		p, err := c.w.iamPolicy(in.PolicyArn)
		if err != nil {
			return nil, err
		}
		if slices.Contains(r.attached, p.arn) {
			return &iam.AttachRolePolicyOutput{}, nil // attaching twice is a no-op in IAM
		}
		if len(r.attached) >= c.w.quota() {
			return nil, apiError("LimitExceeded", "Cannot exceed quota for PoliciesPerRole: %d", c.w.quota())
		}
		r.attached = append(r.attached, p.arn)
		p.attachments++
		return &iam.AttachRolePolicyOutput{}, nil
	})
}

// DetachRolePolicy detaches a managed policy from a role.
func (c *IAM) DetachRolePolicy(ctx context.Context, in *iam.DetachRolePolicyInput, _ ...func(*iam.Options)) (*iam.DetachRolePolicyOutput, error) {
	return call(ctx, c.w, svcIAM, "DetachRolePolicy", in, func(in *iam.DetachRolePolicyInput) (*iam.DetachRolePolicyOutput, error) {
		r, err := c.w.iamRole(in.RoleName)
		if err != nil {
			return nil, err
		}
		arn := aws.ToString(in.PolicyArn)
		if !slices.Contains(r.attached, arn) {
			return nil, errNoSuchEntity("Policy %s was not found.", arn)
		}
		r.attached = slices.DeleteFunc(r.attached, func(a string) bool { return a == arn })
		if p, ok := c.w.policies.get(arn); ok {
			p.attachments--
		}
		return &iam.DetachRolePolicyOutput{}, nil
	})
}

// ListAttachedRolePolicies pages through a role's attached managed policies.
func (c *IAM) ListAttachedRolePolicies(ctx context.Context, in *iam.ListAttachedRolePoliciesInput, _ ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error) {
	return call(ctx, c.w, svcIAM, "ListAttachedRolePolicies", in, func(in *iam.ListAttachedRolePoliciesInput) (*iam.ListAttachedRolePoliciesOutput, error) {
		r, err := c.w.iamRole(in.RoleName)
		if err != nil {
			return nil, err
		}
		start := 0
		if m := aws.ToString(in.Marker); m != "" {
			if start, err = strconv.Atoi(m); err != nil || start < 0 || start > len(r.attached) {
				return nil, apiError("InvalidInput", "Invalid Marker.")
			}
		}
		limit := int(aws.ToInt32(in.MaxItems))
		if limit <= 0 {
			limit = 100
		}
		end := min(start+limit, len(r.attached))
		out := &iam.ListAttachedRolePoliciesOutput{}
		for _, arn := range r.attached[start:end] {
			out.AttachedPolicies = append(out.AttachedPolicies, iamtypes.AttachedPolicy{PolicyArn: aws.String(arn), PolicyName: aws.String(arn[strings.LastIndex(arn, "/")+1:])})
		}
		if end < len(r.attached) {
			out.IsTruncated, out.Marker = true, aws.String(strconv.Itoa(end))
		}
		return out, nil
	})
}
