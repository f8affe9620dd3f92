package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

func durationDays(n int) awscdk.Duration { return awscdk.Duration_Days(jsii.Number(n)) }

// newKey makes a customer-managed key with yearly rotation. Keys are retained
// on stack deletion: evidence encrypted with a deleted key is lost.
func newKey(scope constructs.Construct, id, description string, extra ...awsiam.PolicyStatement) awskms.Key {
	return awskms.NewKey(scope, jsii.String(id), &awskms.KeyProps{
		Description:       jsii.String(description),
		EnableKeyRotation: jsii.Bool(true),
		Policy:            keyPolicy(extra...),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
}

// newReportTopic is where reports and alarms go, with the optional email
// subscription. An email subscriber must confirm before anything is delivered.
func newReportTopic(scope constructs.Construct, cfg Config) (awssns.Topic, awskms.Key) {
	key := newKey(scope, "TopicKey", "Firebreak: encrypts containment reports and alarms on the report topic", alarmsPublish())
	topic := awssns.NewTopic(scope, jsii.String("Reports"), &awssns.TopicProps{
		DisplayName: jsii.String("Firebreak"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	// An explicit topic policy (EnforceSSL makes one) replaces the default that
	// lets the account's services publish: CloudWatch alarms need their own grant.
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  jsii.Strings(*topic.TopicArn()),
		Conditions: &map[string]any{
			"ArnLike":      map[string]any{"aws:SourceArn": arn("cloudwatch", "alarm:*")},
			"StringEquals": map[string]any{"aws:SourceAccount": *awscdk.Aws_ACCOUNT_ID()},
		},
	}))
	if cfg.NotifyEmail != "" {
		awssns.NewSubscription(scope, jsii.String("EmailSubscription"), &awssns.SubscriptionProps{
			Topic:    topic,
			Protocol: awssns.SubscriptionProtocol_EMAIL,
			Endpoint: jsii.String(cfg.NotifyEmail),
		})
	}
	return topic, key
}

// newEvidenceBucket stores what the function captured before changing
// anything. Object Lock keeps it unaltered for the retention period.
func newEvidenceBucket(scope constructs.Construct, cfg Config) (awss3.Bucket, awskms.Key) {
	key := newKey(scope, "EvidenceKey", "Firebreak: encrypts the evidence bucket")
	logs := awss3.NewBucket(scope, jsii.String("AccessLogs"), &awss3.BucketProps{
		// Server access log delivery supports SSE-S3 only, not SSE-KMS.
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		Versioned:         jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("expire-access-logs"),
			Expiration:                          durationDays(cfg.EvidenceRetentionDays),
			NoncurrentVersionExpiration:         durationDays(30),
			AbortIncompleteMultipartUploadAfter: durationDays(1),
		}},
	})
	bucket := awss3.NewBucket(scope, jsii.String("Evidence"), &awss3.BucketProps{
		Encryption:                 awss3.BucketEncryption_KMS,
		EncryptionKey:              key,
		BucketKeyEnabled:           jsii.Bool(true),
		BlockPublicAccess:          awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:                 jsii.Bool(true),
		Versioned:                  jsii.Bool(true),
		ObjectOwnership:            awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		ObjectLockEnabled:          jsii.Bool(true),
		ObjectLockDefaultRetention: cfg.objectLockRetention(),
		ServerAccessLogsBucket:     logs,
		ServerAccessLogsPrefix:     jsii.String("evidence/"),
		RemovalPolicy:              awscdk.RemovalPolicy_RETAIN,
		// Expiring the current version adds a delete marker; the locked version
		// stays until its retention ends, then the noncurrent rule removes it.
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("expire-evidence"),
			Expiration:                          durationDays(cfg.EvidenceRetentionDays),
			NoncurrentVersionExpiration:         durationDays(1),
			AbortIncompleteMultipartUploadAfter: durationDays(1),
		}},
	})
	return bucket, key
}

// newFailureQueue holds events that could not be handled: nothing consumes it,
// an alarm on its depth tells a human. 14 days is the SQS maximum.
func newFailureQueue(scope constructs.Construct, id string) awssqs.Queue {
	return awssqs.NewQueue(scope, jsii.String(id), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: durationDays(14),
	})
}
