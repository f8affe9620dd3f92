package stack_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/firebreak-ir/firebreak/infra/stack"
	"github.com/firebreak-ir/firebreak/internal/contract"
)

// equalJSON compares a template fragment with the JSON it must be, exactly.
func equalJSON(t *testing.T, what string, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation for %s: %v", what, err)
	}
	var g any
	raw, _ := json.Marshal(got)
	_ = json.Unmarshal(raw, &g)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\ngot  %s\nwant %s", what, toJSON(g), toJSON(w))
	}
}

func ref(id string) map[string]any          { return map[string]any{"Ref": id} }
func getAtt(id, attr string) map[string]any { return map[string]any{"Fn::GetAtt": []any{id, attr}} }

var extended = map[string]any{
	"notifyMinSeverity": "5.5", "containMinSeverity": "8", "dryRun": "false",
	"findingTypePrefixes": "Backdoor:EC2/,CryptoCurrency:EC2/,Execution:Runtime/",
	"isolationMode":       "sg+nacl", "notifyEmail": "soc@example.com", "evidenceRetentionDays": "365",
	"objectLockMode": "COMPLIANCE", "logRetentionDays": "731", "logLevel": "debug",
	"reservedConcurrency": "10", "securityHubAction": "false",
	"snapshotLockMode": "compliance", "snapshotLockCoolOffHours": "48", "securityHubWriteBack": "cspm",
	"verifyEverySeconds": "900",
}

// The sweep's schedule: every verifyEverySeconds (an hour by default), none at 0.
func TestSweepScheduleFollowsVerifyEverySeconds(t *testing.T) {
	for _, tt := range []struct {
		name      string
		overrides map[string]any
		rate      string
	}{{"default", nil, "rate(1 hour)"}, {"15 minutes", map[string]any{"verifyEverySeconds": "900"}, "rate(15 minutes)"},
		{"off", map[string]any{"verifyEverySeconds": 0.0}, ""}} {
		t.Run(tt.name, func(t *testing.T) {
			s := synth(t, tt.overrides)
			var got string
			for _, id := range s.ofType("AWS::Events::Rule") {
				if e, ok := s.resources[id].Properties["ScheduleExpression"].(string); ok {
					got = e
				}
			}
			if got != tt.rate {
				t.Errorf("schedule %q, want %q", got, tt.rate)
			}
		})
	}
}

func TestGuardDutyRuleMatchesInstanceFindingsAtTheNotifyThreshold(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]any
		pattern   string
	}{
		{
			name: "defaults: every finding type from severity 4",
			pattern: `{"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"],
				"detail": {"resource": {"resourceType": ["Instance"]}, "severity": [{"numeric": [">=", 4]}]}}`,
		},
		{
			name:      "finding-type prefixes and a fractional threshold",
			overrides: extended,
			pattern: `{"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"],
				"detail": {"resource": {"resourceType": ["Instance"]}, "severity": [{"numeric": [">=", 5.5]}],
				"type": [{"prefix": "Backdoor:EC2/"}, {"prefix": "CryptoCurrency:EC2/"}, {"prefix": "Execution:Runtime/"}]}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := synth(t, tt.overrides)
			_, rule := s.withPrefix(t, "AWS::Events::Rule", "GuardDutyFindings")
			equalJSON(t, "event pattern", rule.Properties["EventPattern"], tt.pattern)
		})
	}
}

func TestRulesRetryAndDeadLetterUndeliveredFindings(t *testing.T) {
	s := synth(t, nil)
	fnID, _ := s.withPrefix(t, "AWS::Lambda::Function", "Contain")
	dlqID, _ := s.withPrefix(t, "AWS::SQS::Queue", "UndeliveredFindings")
	rules := s.ofType("AWS::Events::Rule")
	if len(rules) != 3 {
		t.Fatalf("want the GuardDuty, Security Hub and sweep rules, got %v", rules)
	}
	for _, id := range rules {
		input := ""
		if strings.HasPrefix(id, "VerifyContained") {
			input = `"Input": "{\"sweep\":true}",`
		}
		equalJSON(t, id+" targets", s.resources[id].Properties["Targets"], `[{`+input+`
			"Arn": {"Fn::GetAtt": ["`+fnID+`", "Arn"]},
			"DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["`+dlqID+`", "Arn"]}},
			"Id": "Target0",
			"RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 8}}]`)
	}
	// EventBridge may write to the dead-letter queue only for these rules.
	var granted []string
	for _, st := range statements(s) {
		if st.policy.owner == "UndeliveredFindingsPolicy" && st.effect == "Allow" {
			if st.principal != `{"Service":"events.amazonaws.com"}` || !contains(st.actions, "sqs:SendMessage") || len(st.actions) != 1 {
				t.Errorf("%s grants %v to %s", st, st.actions, st.principal)
			}
			granted = append(granted, render(st.conditions["ArnEquals"]["aws:SourceArn"]))
		}
	}
	equalJSON(t, "dead-letter queue writers", granted, `["${GuardDutyFindings.Arn}", "${VerifyContained.Arn}", "${SecurityHubContainAction.Arn}"]`)
	// EventBridge may only invoke the function from these rules.
	if n := len(s.ofType("AWS::Lambda::Permission")); n != len(rules) {
		t.Errorf("%d invoke permissions for %d rules", n, len(rules))
	}
	for _, id := range s.ofType("AWS::Lambda::Permission") {
		p := s.resources[id].Properties
		if p["Principal"] != "events.amazonaws.com" || p["Action"] != "lambda:InvokeFunction" {
			t.Errorf("%s: unexpected permission %s", id, toJSON(p))
		}
		src, _ := json.Marshal(p["SourceArn"])
		if !strings.Contains(string(src), "GuardDutyFindings") && !strings.Contains(string(src), "SecurityHubContainAction") && !strings.Contains(string(src), "VerifyContained") {
			t.Errorf("%s: invocation not limited to a Firebreak rule: SourceArn %s", id, src)
		}
	}
}

func TestSecurityHubCustomActionRoutesToTheFunction(t *testing.T) {
	s := synth(t, nil)
	id, action := s.only(t, "AWS::SecurityHub::ActionTarget")
	name, _ := action.Properties["Name"].(string)
	actionID, _ := action.Properties["Id"].(string)
	// CreateActionTarget limits: name up to 20 characters, id up to 20 alphanumerics.
	if len(name) == 0 || len(name) > 20 {
		t.Errorf("action name %q: Security Hub accepts 1-20 characters", name)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9]{1,20}$`).MatchString(actionID) {
		t.Errorf("action id %q: Security Hub accepts 1-20 alphanumerics", actionID)
	}
	if !strings.Contains(action.Properties["Description"].(string), "Contain with Firebreak") {
		t.Errorf("description %q does not say what the action does", action.Properties["Description"])
	}
	_, rule := s.withPrefix(t, "AWS::Events::Rule", "SecurityHubContainAction")
	equalJSON(t, "custom action pattern", rule.Properties["EventPattern"], `{
		"source": ["aws.securityhub"], "detail-type": ["Security Hub Findings - Custom Action"],
		"resources": [{"Fn::GetAtt": ["`+id+`", "ActionTargetArn"]}]}`)
	equalJSON(t, "custom action output", s.outputs["CustomActionArn"], `{
		"Description": "Security Hub custom action that sends findings to the function",
		"Value": {"Fn::GetAtt": ["`+id+`", "ActionTargetArn"]}}`)
}

func TestSecurityHubActionCanBeLeftOut(t *testing.T) {
	s := synth(t, extended)
	check(t, func() {
		s.template.ResourceCountIs(jsii.String("AWS::SecurityHub::ActionTarget"), jsii.Number(0))
		// The GuardDuty rule and the sweep's schedule.
		s.template.ResourceCountIs(jsii.String("AWS::Events::Rule"), jsii.Number(2))
	})
	if _, ok := s.outputs["CustomActionArn"]; ok {
		t.Error("CustomActionArn output without a custom action")
	}
}

func TestFunctionRunsTheBootstrapOnArm64WithItsConfiguration(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]any
		env       map[string]string
		logLevel  string
		reserved  int
	}{
		{
			name: "defaults", logLevel: "INFO", reserved: 5,
			env: map[string]string{contract.EnvDryRun: "true", contract.EnvContainMinSeverity: "7",
				contract.EnvNotifyMinSeverity: "4", contract.EnvIsolation: "sg",
				contract.EnvSnapshotLockMode: "governance", contract.EnvSnapshotLockDays: "90", contract.EnvSnapshotLockCoolOffHours: "0",
				contract.EnvSecurityHubWriteBack: "auto"},
		},
		{
			name: "armed, hard cut, debug logs", overrides: extended, logLevel: "DEBUG", reserved: 10,
			env: map[string]string{contract.EnvDryRun: "false", contract.EnvContainMinSeverity: "8",
				contract.EnvNotifyMinSeverity: "5.5", contract.EnvIsolation: "sg+nacl",
				contract.EnvSnapshotLockMode: "compliance", contract.EnvSnapshotLockDays: "365", contract.EnvSnapshotLockCoolOffHours: "48",
				contract.EnvSecurityHubWriteBack: "cspm"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := synth(t, tt.overrides)
			_, fn := s.withPrefix(t, "AWS::Lambda::Function", "Contain")
			topicID, _ := s.only(t, "AWS::SNS::Topic")
			bucketID, _ := s.withPrefix(t, "AWS::S3::Bucket", "Evidence")
			logsID, _ := s.withPrefix(t, "AWS::Logs::LogGroup", "ContainLogs")
			roleID, _ := s.withPrefix(t, "AWS::IAM::Role", "ContainRole")
			tableID, _ := s.only(t, "AWS::DynamoDB::Table")
			env := map[string]any{contract.EnvTopicARN: ref(topicID), contract.EnvEvidenceBucket: ref(bucketID),
				contract.EnvAccountID: map[string]any{"Ref": "AWS::AccountId"}, contract.EnvGuardTable: ref(tableID),
				contract.EnvMaxAutomaticContainment: "10", contract.EnvGuardWindowMinutes: "60", contract.EnvCredentialFindings: "contain"}
			for k, v := range tt.env {
				env[k] = v
			}
			want := map[string]any{
				"Runtime": "provided.al2023", "Architectures": []any{"arm64"}, "Handler": "bootstrap",
				"Timeout": 300, "MemorySize": 256, "ReservedConcurrentExecutions": tt.reserved,
				"Role":        getAtt(roleID, "Arn"),
				"Environment": map[string]any{"Variables": env},
				"LoggingConfig": map[string]any{"LogFormat": "JSON", "ApplicationLogLevel": tt.logLevel,
					"SystemLogLevel": "WARN", "LogGroup": ref(logsID)},
			}
			for k, v := range want {
				raw, _ := json.Marshal(v)
				equalJSON(t, k, fn.Properties[k], string(raw))
			}
			// X-Ray is off on purpose (see the README): no tracing config at all.
			if tc, ok := fn.Properties["TracingConfig"]; ok {
				t.Errorf("TracingConfig = %v, want none", tc)
			}
		})
	}
}

func TestFunctionLogsAreRetainedForTheConfiguredPeriod(t *testing.T) {
	for _, tt := range []struct {
		overrides map[string]any
		days      int
	}{{nil, 365}, {extended, 731}} {
		s := synth(t, tt.overrides)
		check(t, func() {
			s.template.HasResource(jsii.String("AWS::Logs::LogGroup"), map[string]any{
				"Properties":     map[string]any{"RetentionInDays": tt.days},
				"DeletionPolicy": "Retain",
			})
		})
	}
}

func TestFailedInvocationsGoToTheOnFailureQueue(t *testing.T) {
	s := synth(t, nil)
	fnID, _ := s.withPrefix(t, "AWS::Lambda::Function", "Contain")
	queueID, _ := s.withPrefix(t, "AWS::SQS::Queue", "ContainFailures")
	_, cfg := s.withPrefix(t, "AWS::Lambda::EventInvokeConfig", "ContainEventInvokeConfig")
	equalJSON(t, "event invoke config", cfg.Properties, `{
		"FunctionName": {"Ref": "`+fnID+`"}, "Qualifier": "$LATEST",
		"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 2,
		"DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["`+queueID+`", "Arn"]}}}}`)
}

func TestFailureQueuesAreEncryptedTLSOnlyAndKeepMessagesTwoWeeks(t *testing.T) {
	s := synth(t, nil)
	queues := s.ofType("AWS::SQS::Queue")
	if len(queues) != 2 {
		t.Fatalf("want the delivery DLQ and the on-failure queue, got %v", queues)
	}
	for _, id := range queues {
		equalJSON(t, id, s.resources[id].Properties, `{"SqsManagedSseEnabled": true, "MessageRetentionPeriod": 1209600}`)
		check(t, func() {
			s.template.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), map[string]any{
				"Queues": []any{ref(id)},
				"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
					"Effect": "Deny", "Action": "sqs:*", "Principal": map[string]any{"AWS": "*"},
					"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
				})})},
			})
		})
	}
}

func TestReportTopicIsEncryptedWithItsOwnKeyAndTLSOnly(t *testing.T) {
	s := synth(t, nil)
	topicID, topic := s.only(t, "AWS::SNS::Topic")
	keyID, _ := s.withPrefix(t, "AWS::KMS::Key", "TopicKey")
	equalJSON(t, "topic key", topic.Properties["KmsMasterKeyId"], `{"Fn::GetAtt": ["`+keyID+`", "Arn"]}`)
	_, policy := s.only(t, "AWS::SNS::TopicPolicy")
	equalJSON(t, "topic policy", policy.Properties["PolicyDocument"], `{"Version": "2012-10-17", "Statement": [
		{"Sid": "AllowPublishThroughSSLOnly", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
		 "Resource": {"Ref": "`+topicID+`"}, "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
		{"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
		 "Action": "sns:Publish", "Resource": {"Ref": "`+topicID+`"},
		 "Condition": {
			"ArnLike": {"aws:SourceArn": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":cloudwatch:",
				{"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"}, ":alarm:*"]]}},
			"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}]}`)
}

func TestEmailSubscriptionOnlyWhenAnAddressIsGiven(t *testing.T) {
	check(t, func() { synth(t, nil).template.ResourceCountIs(jsii.String("AWS::SNS::Subscription"), jsii.Number(0)) })
	s := synth(t, extended)
	topicID, _ := s.only(t, "AWS::SNS::Topic")
	_, sub := s.only(t, "AWS::SNS::Subscription")
	equalJSON(t, "subscription", sub.Properties, `{"Protocol": "email", "Endpoint": "soc@example.com",
		"TopicArn": {"Ref": "`+topicID+`"}}`)
}

func TestKeysRotateAndOutliveTheStack(t *testing.T) {
	s := synth(t, nil)
	keys := s.ofType("AWS::KMS::Key")
	if len(keys) != 2 {
		t.Fatalf("want a topic key and an evidence key, got %v", keys)
	}
	check(t, func() {
		s.template.AllResources(jsii.String("AWS::KMS::Key"), map[string]any{
			"Properties":          assertions.Match_ObjectLike(&map[string]any{"EnableKeyRotation": true}),
			"DeletionPolicy":      "Retain",
			"UpdateReplacePolicy": "Retain",
		})
	})
}

func TestEvidenceBucketIsLockedEncryptedPrivateAndLogged(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]any
		days      int
		mode      string
	}{
		{"defaults: 90 days, governance", nil, 90, "GOVERNANCE"},
		{"a year, compliance", extended, 365, "COMPLIANCE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := synth(t, tt.overrides)
			bucketID, bucket := s.withPrefix(t, "AWS::S3::Bucket", "Evidence")
			logsID, logs := s.withPrefix(t, "AWS::S3::Bucket", "AccessLogs")
			keyID, _ := s.withPrefix(t, "AWS::KMS::Key", "EvidenceKey")
			days, _ := json.Marshal(tt.days)
			equalJSON(t, "evidence bucket", bucket.Properties, `{
				"BucketEncryption": {"ServerSideEncryptionConfiguration": [{"BucketKeyEnabled": true,
					"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["`+keyID+`", "Arn"]}}}]},
				"VersioningConfiguration": {"Status": "Enabled"},
				"ObjectLockEnabled": true,
				"ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Days": `+string(days)+`, "Mode": "`+tt.mode+`"}}},
				"PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
				"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
				"LoggingConfiguration": {"DestinationBucketName": {"Ref": "`+logsID+`"}, "LogFilePrefix": "evidence/"},
				"LifecycleConfiguration": {"Rules": [{"Id": "expire-evidence", "Status": "Enabled", "ExpirationInDays": `+string(days)+`,
					"NoncurrentVersionExpiration": {"NoncurrentDays": 1}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]}}`)
			equalJSON(t, "access log bucket", logs.Properties, `{
				"BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
				"VersioningConfiguration": {"Status": "Enabled"},
				"PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
				"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
				"LifecycleConfiguration": {"Rules": [{"Id": "expire-access-logs", "Status": "Enabled", "ExpirationInDays": `+string(days)+`,
					"NoncurrentVersionExpiration": {"NoncurrentDays": 30}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]}}`)
			for _, id := range []string{bucketID, logsID} {
				props := s.resources[id].Properties
				check(t, func() {
					s.template.HasResource(jsii.String("AWS::S3::Bucket"), map[string]any{
						"Properties": assertions.Match_ObjectLike(&props), "DeletionPolicy": "Retain",
					})
					s.template.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), map[string]any{
						"Bucket": ref(id),
						"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
							"Effect": "Deny", "Action": "s3:*", "Principal": map[string]any{"AWS": "*"},
							"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
						})})},
					})
				})
			}
		})
	}
}

func TestAlarmsPageTheReportTopic(t *testing.T) {
	s := synth(t, nil)
	fnID, _ := s.withPrefix(t, "AWS::Lambda::Function", "Contain")
	releaseID, _ := s.withPrefix(t, "AWS::Lambda::Function", "Release")
	topicID, _ := s.only(t, "AWS::SNS::Topic")
	failuresID, _ := s.withPrefix(t, "AWS::SQS::Queue", "ContainFailures")
	dlqID, _ := s.withPrefix(t, "AWS::SQS::Queue", "UndeliveredFindings")
	alarms := s.ofType("AWS::CloudWatch::Alarm")
	if len(alarms) != 9 {
		t.Fatalf("want nine alarms, got %v", alarms)
	}
	tests := []struct {
		prefix, namespace, metric, statistic, dimension string
		target                                          map[string]any
	}{
		{"FunctionErrorsAlarm", "AWS/Lambda", "Errors", "Sum", "FunctionName", ref(fnID)},
		{"FailedContainmentsAlarm", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", "QueueName", getAtt(failuresID, "QueueName")},
		{"UndeliveredFindingsAlarm", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", "QueueName", getAtt(dlqID, "QueueName")},
		{"ReleaseErrorsAlarm", "AWS/Lambda", "Errors", "Sum", "FunctionName", ref(releaseID)},
		// The metric the function emits for each report the guard held.
		{"HeldByGuardAlarm", contract.MetricNamespace, contract.MetricHeldByGuard, "Sum", "", nil},
		// An instance whose role's deny-policy budget was full.
		{"CredentialBudgetFullAlarm", contract.MetricNamespace, contract.MetricCredentialBudgetFull, "Sum", "", nil},
	}
	for _, tt := range tests {
		_, alarm := s.withPrefix(t, "AWS::CloudWatch::Alarm", tt.prefix)
		p := map[string]any{}
		for k, v := range alarm.Properties {
			if k != "AlarmDescription" {
				p[k] = v
			}
		}
		if d, _ := alarm.Properties["AlarmDescription"].(string); !strings.HasPrefix(d, "Firebreak: ") {
			t.Errorf("%s: description %q does not tell the reader what fired", tt.prefix, d)
		}
		dims := ""
		if tt.dimension != "" {
			dim, _ := json.Marshal(tt.target)
			dims = `"Dimensions": [{"Name": "` + tt.dimension + `", "Value": ` + string(dim) + `}],`
		}
		equalJSON(t, tt.prefix, p, `{
			"Namespace": "`+tt.namespace+`", "MetricName": "`+tt.metric+`", "Statistic": "`+tt.statistic+`", "Period": 300, `+dims+`
			"ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1, "EvaluationPeriods": 1,
			"TreatMissingData": "notBreaching", "AlarmActions": [{"Ref": "`+topicID+`"}]}`)
	}
}

func TestOutputsNameWhatAnOperatorNeeds(t *testing.T) {
	s := synth(t, nil)
	fnID, _ := s.withPrefix(t, "AWS::Lambda::Function", "Contain")
	releaseID, _ := s.withPrefix(t, "AWS::Lambda::Function", "Release")
	topicID, _ := s.only(t, "AWS::SNS::Topic")
	bucketID, _ := s.withPrefix(t, "AWS::S3::Bucket", "Evidence")
	for name, value := range map[string]any{"FunctionName": ref(fnID), "TopicArn": ref(topicID), "EvidenceBucketName": ref(bucketID),
		"ReleaseFunctionName": ref(releaseID)} {
		out, ok := s.outputs[name].(map[string]any)
		if !ok {
			t.Errorf("no output %s", name)
			continue
		}
		raw, _ := json.Marshal(value)
		equalJSON(t, name, out["Value"], string(raw))
	}
}

func TestBuildRefusesAConfigurationThatWouldMisbehave(t *testing.T) {
	notArm := t.TempDir()
	if err := os.WriteFile(filepath.Join(notArm, "bootstrap"), []byte("#!/bin/sh\necho not a Lambda\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		context map[string]any
		wantErr string
	}{
		{"a misspelled key", map[string]any{"dryrun": "false"}, `did you mean "dryRun"`},
		{"an invalid value", map[string]any{"isolationMode": "vpc"}, `"vpc" is not "sg" or "sg+nacl"`},
		{"no prebuilt bootstrap", map[string]any{"bootstrapDir": t.TempDir()}, "run make build first"},
		{"a bootstrap that is not an executable", map[string]any{"bootstrapDir": notArm}, "as an ELF executable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			check(t, func() {
				app := awscdk.NewApp(&awscdk.AppProps{Context: &tt.context, Outdir: jsii.String(t.TempDir())})
				_, _, err = stack.Build(app, filepath.Join(repoRoot, "functions", "contain"))
			})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Build error = %v, want one saying %q", err, tt.wantErr)
			}
		})
	}
}

// The guard's table: on demand, TTL, point-in-time recovery, encrypted, and
// neither deletable by mistake nor removed with the stack.
func TestGuardTable(t *testing.T) {
	s := synth(t, nil)
	id, table := s.only(t, "AWS::DynamoDB::Table")
	if table.DeletionPolicy != "Retain" || table.UpdateReplacePolicy != "Retain" {
		t.Errorf("table %s: deletion %q, replace %q; want Retain", id, table.DeletionPolicy, table.UpdateReplacePolicy)
	}
	equalJSON(t, "Guard table", table.Properties, `{
		"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
		"AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
		"BillingMode": "PAY_PER_REQUEST",
		"TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": true},
		"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true},
		"SSESpecification": {"SSEEnabled": true},
		"DeletionProtectionEnabled": true}`)
}

// A cap outside what the function accepts stops the synth.
func TestGuardSettingsAreValidated(t *testing.T) {
	for _, tc := range []struct {
		values map[string]any
		want   string
	}{
		{map[string]any{stack.KeyMaxAutomaticContainments: 0.0}, "maxAutomaticContainments: 0 is outside 1-1000"},
		{map[string]any{stack.KeyMaxAutomaticContainments: "1001"}, "maxAutomaticContainments: 1001 is outside 1-1000"},
		{map[string]any{stack.KeyGuardWindowMinutes: 0.0}, "guardWindowMinutes: 0 is outside 1-10080 minutes"},
		{map[string]any{stack.KeyGuardWindowMinutes: "ten"}, "guardWindowMinutes: want a number"},
	} {
		_, err := stack.ParseConfig(func(k string) any { return tc.values[k] })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.values, err, tc.want)
		}
	}
	c, err := stack.ParseConfig(func(k string) any {
		return map[string]any{stack.KeyMaxAutomaticContainments: "25", stack.KeyGuardWindowMinutes: 15.0}[k]
	})
	if err != nil || c.MaxAutomaticContainments != 25 || c.GuardWindowMinutes != 15 {
		t.Errorf("config %+v, %v", c, err)
	}
}
