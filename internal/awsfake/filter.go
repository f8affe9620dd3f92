package awsfake

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// checkFilters rejects filter names the operation does not know, as EC2 does;
// tag:<key>, tag-key and tag-value work on every resource here.
func checkFilters(filters []types.Filter, known ...string) error {
	for _, f := range filters {
		name := aws.ToString(f.Name)
		if (len(name) > len("tag:") && strings.HasPrefix(name, "tag:")) || name == "tag-key" || name == "tag-value" {
			continue
		}
		if !slices.Contains(known, name) {
			return apiError("InvalidParameterValue", "The filter '%s' is invalid", name)
		}
	}
	return nil
}

// matchFilters applies EC2 filter semantics: every filter must match, and a
// filter matches when any of its values matches any of the resource's values.
func matchFilters(filters []types.Filter, t tags, field func(name string) []string) bool {
	for _, f := range filters {
		name := aws.ToString(f.Name)
		var have []string
		switch {
		case strings.HasPrefix(name, "tag:"):
			if v, ok := t[name[len("tag:"):]]; ok {
				have = []string{v}
			}
		case name == "tag-key":
			for k := range t {
				have = append(have, k)
			}
		case name == "tag-value":
			for _, v := range t {
				have = append(have, v)
			}
		default:
			have = field(name)
		}
		if !anyGlob(f.Values, have) {
			return false
		}
	}
	return true
}

func anyGlob(patterns, values []string) bool {
	for _, p := range patterns {
		for _, v := range values {
			if glob(p, v) {
				return true
			}
		}
	}
	return false
}

// glob matches EC2 filter wildcards: * any run, ? one character.
func glob(p, s string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if glob(p[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			p, s = p[1:], s[1:]
		default:
			if s == "" || p[0] != s[0] {
				return false
			}
			p, s = p[1:], s[1:]
		}
	}
	return s == ""
}

func boolValue(b bool) []string { return []string{strconv.FormatBool(b)} }

// page returns the slice of items a NextToken/Marker points at, at most limit
// long (0: no limit), and the token for the rest. ok is false for a token this
// world did not issue.
func page[T any](items []T, limit int, token *string) (out []T, next *string, ok bool) {
	start := 0
	if t := aws.ToString(token); t != "" {
		raw, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil || !strings.HasPrefix(string(raw), "offset:") {
			return nil, nil, false
		}
		n, err := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
		if err != nil || n < 0 || n > len(items) {
			return nil, nil, false
		}
		start = n
	}
	end := len(items)
	if limit > 0 && start+limit < end {
		end = start + limit
		next = aws.String(base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end))))
	}
	return items[start:end], next, true
}

// ec2Page applies EC2's MaxResults/NextToken rules: MaxResults in [lo, hi] and
// not together with an explicit id list.
func ec2Page[T any](items []T, maxResults *int32, token *string, lo, hi int, withIDs bool, idParam string) ([]T, *string, error) {
	limit := 0
	if maxResults != nil {
		if withIDs {
			return nil, nil, apiError("InvalidParameterCombination",
				"The parameter %s cannot be used with the parameter maxResults", idParam)
		}
		if int(*maxResults) < lo || int(*maxResults) > hi {
			return nil, nil, errBadMaxResults(*maxResults, lo, hi)
		}
		limit = int(*maxResults)
	}
	out, next, ok := page(items, limit, token)
	if !ok {
		return nil, nil, errBadToken()
	}
	return out, next, nil
}

func (t tags) sdk() []types.Tag {
	if len(t) == 0 {
		return nil
	}
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]types.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(t[k])})
	}
	return out
}

// userTagCount counts the tags that count towards the 50-tag quota; tags AWS
// itself writes (aws:...) do not.
func (t tags) userTagCount() int {
	n := 0
	for k := range t {
		if !isAWSKey(k) {
			n++
		}
	}
	return n
}

func isAWSKey(k string) bool { return strings.HasPrefix(strings.ToLower(k), "aws:") }

const maxTagsPerResource = 50

// validateTags applies the CreateTags rules for keys and values.
func validateTags(in []types.Tag) error {
	for _, t := range in {
		k := aws.ToString(t.Key)
		switch {
		case k == "":
			return apiError("InvalidParameterValue", "Tag key cannot be empty")
		case isAWSKey(k):
			return apiError("InvalidParameterValue",
				"Value ( %s ) for parameter key is invalid. Tag keys starting with 'aws:' are reserved for internal use", k)
		case len(k) > 128:
			return apiError("InvalidParameterValue", "Value ( %s ) for parameter key is invalid. Length exceeds maximum of 128", k)
		case len(aws.ToString(t.Value)) > 256:
			return apiError("InvalidParameterValue",
				"Value ( %s ) for parameter value is invalid. Length exceeds maximum of 256", aws.ToString(t.Value))
		}
	}
	return nil
}

// tagSpecTags collects the tags of TagSpecifications for one resource type,
// rejecting specifications for types the operation does not create.
func tagSpecTags(specs []types.TagSpecification, resourceType types.ResourceType) (tags, error) {
	out := tags{}
	for _, s := range specs {
		if s.ResourceType != resourceType {
			return nil, apiError("InvalidParameterValue",
				"'%s' is not a valid taggable resource type for this operation.", s.ResourceType)
		}
		if err := validateTags(s.Tags); err != nil {
			return nil, err
		}
		for _, t := range s.Tags {
			out[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	if len(out) > maxTagsPerResource {
		return nil, apiError("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
	}
	return out, nil
}
