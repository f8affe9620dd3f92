// Package notify renders a Firebreak report as an SNS message (a subject for
// email, a human summary followed by the report JSON, and message attributes
// for subscription filters) and publishes it.
package notify

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// MaxMessageBytes is SNS's default limit for a message body plus its
// attributes, in bytes of UTF-8.
const MaxMessageBytes = 262144

// Message attribute names, for subscription filter policies.
const (
	AttrDecision    = "decision"
	AttrSeverity    = "severity"
	AttrFindingType = "finding_type"
	AttrInstanceID  = "instance_id"
	AttrDryRun      = "dry_run"
	AttrStatus      = "status"
)

// Values of the status attribute.
const (
	StatusContained        = "contained"
	StatusFailed           = "failed"
	StatusNotified         = "notified"
	StatusIgnored          = "ignored"
	StatusAlreadyContained = "already-contained"
	StatusPlanned          = "planned"
	// StatusDriftRepaired: a verification found a contained instance's
	// containment changed, and repaired it.
	StatusDriftRepaired = "drift-repaired"
)

// Separator is the line between the human summary and the report JSON: the
// JSON is everything after it.
const Separator = "----- report JSON -----"

// Message is one SNS publication.
type Message struct {
	Subject    string
	Body       string
	Attributes map[string]snstypes.MessageAttributeValue
}

// Size is what counts against MaxMessageBytes: the body plus each attribute's
// name, data type and value. The subject is counted too, to stay on the safe side.
func (m Message) Size() int {
	n := len(m.Subject) + len(m.Body)
	for name, v := range m.Attributes {
		n += len(name) + len(aws.ToString(v.DataType)) + len(aws.ToString(v.StringValue)) + len(v.BinaryValue)
	}
	return n
}

// Status sums up a report in one word. A failed step wins over everything
// else, because that is what an on-call filter must never miss.
func Status(r *report.Report) string {
	if r.Kind == report.KindRelease {
		return releaseStatus(r)
	}
	switch {
	case len(r.Failed()) > 0:
		return StatusFailed
	case r.Decision == report.Ignore:
		return StatusIgnored
	case r.Decision == report.Contain && r.AlreadyContained && len(r.Drift) > 0:
		return StatusDriftRepaired
	case r.Decision == report.Contain && r.AlreadyContained:
		return StatusAlreadyContained
	case r.Decision == report.Contain && r.DryRun:
		return StatusPlanned
	case r.Decision == report.Contain:
		return StatusContained
	default:
		// Notify, and any decision this package does not know: a human looks.
		return StatusNotified
	}
}

// Render turns a report into the message Firebreak publishes. It never fails:
// whatever the report holds, the result is within SNS's rules.
func Render(r *report.Report) Message {
	if r == nil {
		r = &report.Report{}
	}
	status := Status(r)
	m := Message{
		Subject:    subject(r, status),
		Attributes: attributes(r, status),
	}
	m.Body = body(r, status, MaxMessageBytes-len(m.Subject)-(Message{Attributes: m.Attributes}).Size())
	return m
}

// Publish renders the report and publishes it to the topic, returning the
// SNS message id.
func Publish(ctx context.Context, api awsapi.SNS, topicARN string, r *report.Report) (string, error) {
	m := Render(r)
	who := target(r)
	out, err := api.Publish(ctx, &sns.PublishInput{
		TopicArn:          aws.String(topicARN),
		Subject:           aws.String(m.Subject),
		Message:           aws.String(m.Body),
		MessageAttributes: m.Attributes,
	})
	if err != nil {
		return "", fmt.Errorf("publishing report for %s: %w", who, err)
	}
	return aws.ToString(out.MessageId), nil
}

// target names what the report is about, in printable ASCII, for errors and logs.
func target(r *report.Report) string {
	if r == nil {
		return "an empty report"
	}
	switch {
	case len(r.Instances) > 1:
		return fmt.Sprintf("%d instances", len(r.Instances))
	case r.InstanceID != "":
		return shorten(ascii(r.InstanceID), 40)
	case len(r.Instances) == 1:
		return shorten(ascii(r.Instances[0]), 40)
	case r.Finding != nil && r.Finding.ID != "":
		return "finding " + shorten(ascii(r.Finding.ID), 64)
	}
	return "no instance"
}

// attributes builds the filterable attributes. SNS rejects an empty attribute
// value, so an attribute with nothing to say is left out rather than sent empty.
func attributes(r *report.Report, status string) map[string]snstypes.MessageAttributeValue {
	attrs := map[string]snstypes.MessageAttributeValue{
		AttrStatus: str(status),
		AttrDryRun: str(strconv.FormatBool(r.DryRun)),
	}
	if d := shorten(ascii(string(r.Decision)), 32); d != "" {
		attrs[AttrDecision] = str(d)
	}
	if id := shorten(ascii(r.InstanceID), 64); id != "" {
		attrs[AttrInstanceID] = str(id)
	}
	if f := r.Finding; f != nil {
		if t := shorten(ascii(f.Type), 256); t != "" {
			attrs[AttrFindingType] = str(t)
		}
		if sev, ok := number(f.Severity); ok {
			attrs[AttrSeverity] = snstypes.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(sev)}
		}
	}
	return attrs
}

func str(v string) snstypes.MessageAttributeValue {
	return snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

// number formats a severity the way SNS accepts a Number attribute: within
// ±10^9 and at most five decimal places.
func number(v float64) (string, bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e9 {
		return "", false
	}
	return strconv.FormatFloat(math.Round(v*1e5)/1e5, 'f', -1, 64), true
}
