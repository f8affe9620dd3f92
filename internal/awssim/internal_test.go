package awssim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	smithy "github.com/aws/smithy-go"
	"github.com/aws/smithy-go/prelude"
	"github.com/aws/smithy-go/traits"
)

func TestEC2BucketSizes(t *testing.T) {
	tests := []struct {
		action string
		form   url.Values
		want   bucketSpec
	}{
		{"DescribeInstances", url.Values{}, bucketSpec{"unfiltered-describe-instances", 50, 10}},
		{"DescribeInstances", url.Values{"InstanceId.1": {"i-1"}}, bucketSpec{"non-mutating", 100, 20}},
		{"DescribeInstances", url.Values{"Filter.1.Name": {"tag:App"}}, bucketSpec{"non-mutating", 100, 20}},
		{"DescribeSecurityGroups", url.Values{}, bucketSpec{"non-mutating", 100, 20}},
		{"GetConsoleOutput", url.Values{}, bucketSpec{"non-mutating", 100, 20}},
		{"ModifyInstanceAttribute", url.Values{}, bucketSpec{"mutating", 50, 5}},
		{"CreateSecurityGroup", url.Values{}, bucketSpec{"mutating", 50, 5}},
		{"RevokeSecurityGroupEgress", url.Values{}, bucketSpec{"mutating", 50, 5}},
		{"ModifyNetworkInterfaceAttribute", url.Values{}, bucketSpec{"ModifyNetworkInterfaceAttribute", 100, 5}},
		{"CreateSnapshots", url.Values{}, bucketSpec{"CreateSnapshots", 100, 5}},
		{"CreateTags", url.Values{}, bucketSpec{"CreateTags", 100, 10}},
	}
	for _, tt := range tests {
		if got := ec2Bucket(tt.action, tt.form); got != tt.want {
			t.Errorf("%s %v: bucket %+v, want %+v", tt.action, tt.form, got, tt.want)
		}
	}
}

func TestTokenBucketRefill(t *testing.T) {
	now := time.Unix(0, 0)
	set := newBucketSet(2, func() time.Time { return now })
	spec := bucketSpec{"mutating", 3, 5}
	for i := range 3 {
		if !set.take("", spec) {
			t.Fatalf("take %d from a full bucket of 3 refused", i+1)
		}
	}
	if set.take("", spec) {
		t.Fatal("took a fourth token from a bucket of 3")
	}
	// 5 tokens/s scaled by 2: 100 ms refills one token.
	now = now.Add(100 * time.Millisecond)
	if !set.take("", spec) {
		t.Error("no token after 100 ms at 10 tokens/s")
	}
	if set.take("", spec) {
		t.Error("two tokens after 100 ms at 10 tokens/s")
	}
	// Refills stop at the bucket's size.
	now = now.Add(time.Hour)
	taken := 0
	for set.take("", spec) {
		taken++
	}
	if taken != 3 {
		t.Errorf("took %d tokens after an hour, want the bucket size 3", taken)
	}
}

func TestLatencyDraws(t *testing.T) {
	f := newFaults(3)
	f.latency = []latencyRule{{"*", 10 * time.Millisecond, 30 * time.Millisecond}, {"ec2:CreateTags", 5 * time.Millisecond, 5 * time.Millisecond}}
	svc := &service{name: "ec2", proto: ec2Query}
	describe := &operation{svc: svc, name: "DescribeInstances", key: "ec2:DescribeInstances"}
	tags := &operation{svc: svc, name: "CreateTags", key: "ec2:CreateTags"}
	for range 100 {
		if d := f.decide(describe, nil, "", 1).delay; d < 10*time.Millisecond || d >= 30*time.Millisecond {
			t.Fatalf("delay %v outside [10ms, 30ms)", d)
		}
		if d := f.decide(tags, nil, "", 1).delay; d != 5*time.Millisecond {
			t.Fatalf("fixed delay %v, want the later, more specific rule's 5ms", d)
		}
	}
}

func TestRequestMetadata(t *testing.T) {
	tests := []struct {
		name        string
		header      http.Header
		query       string
		wantService string
		wantOK      bool
		wantAttempt int
	}{
		{"SDK request", http.Header{"Authorization": {"AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=abc"},
			"Amz-Sdk-Request": {"attempt=3; max=5"}}, "", "ec2", true, 3},
		{"presigned URL", http.Header{}, "X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request", "s3", true, 1},
		{"no credentials", http.Header{}, "", "", false, 1},
		{"truncated scope", http.Header{"Authorization": {"AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1, Signature=abc"}}, "", "", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{Header: tt.header, URL: &url.URL{RawQuery: tt.query}}
			svc, ok := signingService(r)
			if svc != tt.wantService || ok != tt.wantOK {
				t.Errorf("service %q, %v; want %q, %v", svc, ok, tt.wantService, tt.wantOK)
			}
			if got := attempt(r); got != tt.wantAttempt {
				t.Errorf("attempt %d, want %d", got, tt.wantAttempt)
			}
		})
	}
}

func TestDecodeAWSChunked(t *testing.T) {
	tests := []struct {
		name, raw   string
		wantBody    string
		wantTrailer string
		wantErr     string
	}{
		{"unsigned with a trailer", "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n", "hello", "NhCmhg==", ""},
		{"signed chunks, no trailer", "3;chunk-signature=ab\r\nfoo\r\n3;chunk-signature=cd\r\nbar\r\n0;chunk-signature=ef\r\n\r\n", "foobar", "", ""},
		{"trailer signature dropped", "1\r\nx\r\n0\r\nx-amz-checksum-crc32:AA==\r\nx-amz-trailer-signature:ff\r\n\r\n", "x", "AA==", ""},
		{"size not hex", "zz\r\nhello\r\n0\r\n\r\n", "", "", "bad chunk size"},
		{"data runs past its size", "2\r\nhello\r\n0\r\n\r\n", "", "", "not terminated"},
		{"cut short", "a\r\nhello", "", "", "reading a chunk"},
		{"no final chunk", "5\r\nhello\r\n", "", "", "reading a chunk header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, trailers, err := decodeAWSChunked([]byte(tt.raw))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one about %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("decoding: %v", err)
			}
			if string(body) != tt.wantBody {
				t.Errorf("body %q, want %q", body, tt.wantBody)
			}
			if got := trailers.Get("X-Amz-Checksum-Crc32"); got != tt.wantTrailer {
				t.Errorf("trailer %q, want %q", got, tt.wantTrailer)
			}
			if trailers.Get("X-Amz-Trailer-Signature") != "" {
				t.Error("the trailer signature was kept as a header")
			}
		})
	}
}

func TestS3Addressing(t *testing.T) {
	tests := []struct {
		host, path, wantBucket, wantRest string
	}{
		{"127.0.0.1:4566", "/evidence/a/b.json", "evidence", "/a/b.json"},
		{"localhost:4566", "/evidence/a/b.json", "evidence", "/a/b.json"},
		{"s3.localhost:4566", "/evidence/a/b.json", "evidence", "/a/b.json"},
		{"evidence.s3.localhost:4566", "/a/b.json", "evidence", "/a/b.json"},
		{"my.dotted.bucket.s3.us-east-1.amazonaws.com", "/k", "my.dotted.bucket", "/k"},
		{"evidence.s3-us-west-2.amazonaws.com", "/k", "evidence", "/k"},
		{"evidence.localhost", "/k", "evidence", "/k"},
	}
	for _, tt := range tests {
		r := &http.Request{Host: tt.host, URL: &url.URL{Path: tt.path}}
		bucket, rest := bucketAndPath(r)
		if bucket != tt.wantBucket || rest != tt.wantRest {
			t.Errorf("%s%s: bucket %q path %q, want %q %q", tt.host, tt.path, bucket, rest, tt.wantBucket, tt.wantRest)
		}
	}
}

func TestMatchPath(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          map[string]string
	}{
		{"/{Key+}", "/a/b/c.txt", map[string]string{"Key": "a/b/c.txt"}},
		{"/{Key+}", "/", nil},
		{"/{Bucket}/tags/{Id}", "/b/tags/7", map[string]string{"Bucket": "b", "Id": "7"}},
		{"/{Bucket}/tags/{Id}", "/b/labels/7", nil},
		{"/{Bucket}/tags/{Id}", "/b/tags/7/8", nil},
	}
	for _, tt := range tests {
		got, ok := matchPath(tt.pattern, tt.path)
		if ok != (tt.want != nil) {
			t.Errorf("%s ~ %s: matched %v, want %v", tt.pattern, tt.path, ok, tt.want != nil)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%s ~ %s: label %s = %q, want %q", tt.pattern, tt.path, k, got[k], v)
			}
		}
	}
}

// querySchemas builds a small awsQuery model with the naming traits the
// runbook's own shapes do not use: flattened lists and maps, renamed list
// members.
func querySchemas() (root, item *smithy.Schema) {
	item = smithy.NewSchema(smithy.ShapeID{Namespace: "test", Name: "Item"}, smithy.ShapeTypeStructure, 1)
	item.AddMember("Name", prelude.String)
	wrapped := smithy.NewSchema(smithy.ShapeID{Namespace: "test", Name: "Wrapped"}, smithy.ShapeTypeList, 1)
	wrapped.AddMember("member", item, &traits.XMLName{Name: "item"})
	flat := smithy.NewSchema(smithy.ShapeID{Namespace: "test", Name: "Flat"}, smithy.ShapeTypeList, 1)
	flat.AddMember("member", prelude.String)
	tags := smithy.NewSchema(smithy.ShapeID{Namespace: "test", Name: "Tags"}, smithy.ShapeTypeMap, 2)
	tags.AddMember("key", prelude.String, &traits.XMLName{Name: "K"})
	tags.AddMember("value", prelude.String, &traits.XMLName{Name: "V"})
	root = smithy.NewSchema(smithy.ShapeID{Namespace: "test", Name: "Root"}, smithy.ShapeTypeStructure, 4)
	root.AddMember("Items", wrapped)
	root.AddMember("Names", flat, &traits.XMLFlattened{}, &traits.XMLName{Name: "Name"})
	root.AddMember("Tags", tags, &traits.XMLFlattened{})
	root.AddMember("When", prelude.Timestamp, &traits.TimestampFormat{Format: "epoch-seconds"})
	return root, item
}

type queryDoc struct {
	Items []struct{ Name *string }
	Names []string
	Tags  map[string]string
	When  *time.Time
}

func TestQueryTraitsBothWays(t *testing.T) {
	root, _ := querySchemas()
	c := newReflectCodec()
	if err := c.addSDK(reflectTypeOf[queryDoc](), root); err != nil {
		t.Fatalf("pairing the schema: %v", err)
	}
	form, _ := url.ParseQuery("Items.item.1.Name=a&Items.item.2.Name=b&Name.1=x&Name.2=y&Tags.1.K=env&Tags.1.V=prod&When=1768467600")
	var doc queryDoc
	if err := c.decode(newFormDecoder(form, false), &doc); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	if len(doc.Items) != 2 || *doc.Items[1].Name != "b" || strings.Join(doc.Names, ",") != "x,y" || doc.Tags["env"] != "prod" ||
		doc.When == nil || doc.When.Unix() != 1768467600 {
		t.Fatalf("decoded %+v", doc)
	}
	enc := &xmlEncoder{}
	c.write(enc, root, reflectValueOf(&doc).Elem())
	want := "<Items><item><Name>a</Name></item><item><Name>b</Name></item></Items><Name>x</Name><Name>y</Name>" +
		"<Tags><K>env</K><V>prod</V></Tags><When>1768467600</When>"
	if got := string(enc.Bytes()); got != want {
		t.Errorf("encoded\n%s\nwant\n%s", got, want)
	}
}
