package awsfake

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// SNS is the fake Amazon SNS API (awsapi.SNS).
type SNS struct{ w *World }

// Message is one message published to a topic.
type Message struct {
	MessageID  string
	TopicARN   string
	Subject    string
	Body       string
	Structure  string
	Attributes map[string]snstypes.MessageAttributeValue
}

// maxMessageBytes bounds a message and its attributes together.
const maxMessageBytes = 262144

// AddTopic creates a topic and returns its ARN.
func (w *World) AddTopic(name string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	arn := fmt.Sprintf("arn:aws:sns:%s:%s:%s", w.region, w.account, name)
	w.topics.put(arn, name)
	return arn
}

// Published returns copies of every message published, oldest first.
func (w *World) Published() []Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Message, 0, len(w.published))
	for _, m := range w.published {
		m.Attributes = copyAttributes(m.Attributes)
		out = append(out, m)
	}
	return out
}

func copyAttributes(in map[string]snstypes.MessageAttributeValue) map[string]snstypes.MessageAttributeValue {
	if in == nil {
		return nil
	}
	out := make(map[string]snstypes.MessageAttributeValue, len(in))
	for k, v := range in {
		out[k] = snstypes.MessageAttributeValue{
			DataType:    aws.String(aws.ToString(v.DataType)),
			StringValue: optionalCopy(v.StringValue),
			BinaryValue: slices.Clone(v.BinaryValue),
		}
	}
	return out
}

func optionalCopy(s *string) *string {
	if s == nil {
		return nil
	}
	return aws.String(*s)
}

// Publish sends a message to a topic.
func (c *SNS) Publish(ctx context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	return call(ctx, c.w, svcSNS, "Publish", in, c.w.publish)
}

func invalidParameter(format string, args ...any) error {
	return apiError("InvalidParameter", "Invalid parameter: "+format, args...)
}

func (w *World) publish(in *sns.PublishInput) (*sns.PublishOutput, error) {
	arn := aws.ToString(in.TopicArn)
	if arn == "" {
		arn = aws.ToString(in.TargetArn)
	}
	if arn == "" {
		if in.PhoneNumber != nil {
			return nil, invalidParameter("PhoneNumber Reason: SMS is not modelled by this fake")
		}
		return nil, invalidParameter("TopicArn or TargetArn Reason: no value for required parameter")
	}
	if !strings.HasPrefix(arn, "arn:aws:sns:") {
		return nil, invalidParameter("TopicArn Reason: An ARN must have at least 6 elements, not %d", strings.Count(arn, ":")+1)
	}
	if !w.topics.has(arn) {
		return nil, apiError("NotFound", "Topic does not exist")
	}
	if in.Message == nil || *in.Message == "" {
		return nil, invalidParameter("Empty message")
	}
	if in.Subject != nil {
		if err := checkSubject(*in.Subject); err != nil {
			return nil, err
		}
	}
	size := len(*in.Message)
	for name, a := range in.MessageAttributes {
		if a.DataType == nil {
			return nil, apiError("ParameterValueInvalid", "The message attribute '%s' must contain non-empty message attribute type.", name)
		}
		size += len(name) + len(*a.DataType) + len(aws.ToString(a.StringValue)) + len(a.BinaryValue)
	}
	if size > maxMessageBytes {
		return nil, invalidParameter("Message too long")
	}
	if aws.ToString(in.MessageStructure) == "json" {
		var body map[string]any
		if err := json.Unmarshal([]byte(*in.Message), &body); err != nil {
			return nil, invalidParameter("Message Structure - JSON message body failed to parse")
		}
		if _, ok := body["default"]; !ok {
			return nil, invalidParameter("Message Structure - No default entry in JSON message body")
		}
	}
	m := Message{
		MessageID:  w.newUUID(),
		TopicARN:   arn,
		Subject:    aws.ToString(in.Subject),
		Body:       *in.Message,
		Structure:  aws.ToString(in.MessageStructure),
		Attributes: copyAttributes(in.MessageAttributes),
	}
	w.published = append(w.published, m)
	return &sns.PublishOutput{MessageId: aws.String(m.MessageID)}, nil
}

// checkSubject applies SNS's subject rules: ASCII starting with a letter, digit
// or punctuation, no line breaks or control characters, under 100 characters.
func checkSubject(s string) error {
	if s == "" || len(s) >= 100 {
		return invalidParameter("Subject")
	}
	for i, r := range s {
		if r > 0x7e || r < 0x20 || i == 0 && r == ' ' {
			return invalidParameter("Subject")
		}
	}
	return nil
}
