package notify_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/notify"
	"github.com/firebreak-ir/firebreak/internal/report"
)

func TestPublish(t *testing.T) {
	tests := []struct {
		name    string
		report  *report.Report
		topic   string // "" publishes to the topic the world has
		deny    bool
		code    string // AWS error code wanted, "" for success
		errText string
	}{
		{name: "contained", report: contained()},
		{name: "hostile subject and body pass SNS's checks", report: hostile()},
		{name: "5 MB report fits", report: huge(6500, 700000)},
		{name: "unknown topic", report: contained(), topic: "arn:aws:sns:eu-west-1:111122223333:nobody-listens",
			code: "NotFound", errText: "publishing report for " + instanceID + ": "},
		{name: "denied", report: partialFailure(), deny: true,
			code: "AuthorizationError", errText: "publishing report for " + instanceID + ": "},
		{name: "attack sequence names its instances in the error", report: attackSequence(), deny: true,
			code: "AuthorizationError", errText: "publishing report for 3 instances: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := awsfake.New(account, region)
			topic := w.AddTopic("firebreak-reports")
			if tt.topic != "" {
				topic = tt.topic
			}
			if tt.deny {
				w.Deny("Publish")
			}

			id, err := notify.Publish(context.Background(), w.Clients().SNS, topic, tt.report)

			published := w.Published()
			if tt.code != "" {
				var apiErr smithy.APIError
				if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.code {
					t.Fatalf("error = %v, want AWS code %s", err, tt.code)
				}
				if !strings.HasPrefix(err.Error(), tt.errText) {
					t.Errorf("error %q does not start with %q", err, tt.errText)
				}
				if id != "" || len(published) != 0 {
					t.Errorf("failed publish returned id %q and left %d messages", id, len(published))
				}
				return
			}
			if err != nil {
				t.Fatalf("Publish: %v", err)
			}
			if len(published) != 1 {
				t.Fatalf("%d messages published, want 1", len(published))
			}
			got, want := published[0], notify.Render(tt.report)
			if id == "" || id != got.MessageID {
				t.Errorf("returned message id %q, topic holds %q", id, got.MessageID)
			}
			if got.TopicARN != topic || got.Subject != want.Subject || got.Body != want.Body || got.Structure != "" {
				t.Errorf("published message differs from the rendered one (topic %s, subject %q, structure %q)", got.TopicARN, got.Subject, got.Structure)
			}
			if len(got.Attributes) != len(want.Attributes) {
				t.Errorf("published %d attributes, rendered %d", len(got.Attributes), len(want.Attributes))
			}
			for name, v := range want.Attributes {
				g := got.Attributes[name]
				if aws.ToString(g.DataType) != aws.ToString(v.DataType) || aws.ToString(g.StringValue) != aws.ToString(v.StringValue) {
					t.Errorf("attribute %s published as %s:%s", name, aws.ToString(g.DataType), aws.ToString(g.StringValue))
				}
			}
		})
	}
}
