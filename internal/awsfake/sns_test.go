package awsfake_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
)

func TestPublish(t *testing.T) {
	big := strings.Repeat("x", 262144-10)
	tests := []struct {
		name    string
		in      func(topic string) *sns.PublishInput
		wantErr string
	}{
		{"report", func(topic string) *sns.PublishInput {
			return &sns.PublishInput{TopicArn: aws.String(topic), Subject: aws.String("Firebreak: contained i-0abc123def4567890"), Message: aws.String(`{"decision":"contain"}`),
				MessageAttributes: map[string]snstypes.MessageAttributeValue{"decision": {DataType: aws.String("String"), StringValue: aws.String("contain")}}}
		}, ""},
		{"unknown topic", func(string) *sns.PublishInput {
			return &sns.PublishInput{TopicArn: aws.String("arn:aws:sns:us-east-1:123456789012:nope"), Message: aws.String("m")}
		}, "NotFound"},
		{"no topic", func(string) *sns.PublishInput { return &sns.PublishInput{Message: aws.String("m")} }, "InvalidParameter"},
		{"empty message", func(topic string) *sns.PublishInput {
			return &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("")}
		}, "InvalidParameter"},
		{"message at the limit", func(topic string) *sns.PublishInput {
			return &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(big + "0123456789")}
		}, ""},
		{"attributes push it over", func(topic string) *sns.PublishInput {
			return &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(big),
				MessageAttributes: map[string]snstypes.MessageAttributeValue{"k": {DataType: aws.String("String"), StringValue: aws.String("0123456789")}}}
		}, "InvalidParameter"},
		{"subject of 99 characters", func(topic string) *sns.PublishInput {
			return &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("m"), Subject: aws.String(strings.Repeat("s", 99))}
		}, ""},
		{"subject of 100 characters", func(topic string) *sns.PublishInput {
			return &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("m"), Subject: aws.String(strings.Repeat("s", 100))}
		}, "InvalidParameter"},
		{"subject with a line break", func(topic string) *sns.PublishInput {
			return &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("m"), Subject: aws.String("contained\ni-1")}
		}, "InvalidParameter"},
		{"non-ASCII subject", func(topic string) *sns.PublishInput {
			return &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("m"), Subject: aws.String("contained — i-1")}
		}, "InvalidParameter"},
		{"JSON structure without default", func(topic string) *sns.PublishInput {
			return &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(`{"email":"x"}`), MessageStructure: aws.String("json")}
		}, "InvalidParameter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, d, c := demo(t)
			in := tc.in(d.Topic)
			out, err := c.SNS.Publish(context.Background(), in)
			wantCode(t, err, tc.wantErr)
			got := w.Published()
			if err != nil {
				if len(got) != 0 {
					t.Errorf("a refused message was stored: %+v", got)
				}
				return
			}
			if len(got) != 1 || got[0].MessageID != *out.MessageId || got[0].Body != *in.Message || got[0].TopicARN != d.Topic ||
				got[0].Subject != aws.ToString(in.Subject) || len(got[0].Attributes) != len(in.MessageAttributes) {
				t.Errorf("stored %+v", got)
			}
		})
	}
}
