package awsfake_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestPutObject(t *testing.T) {
	body := `{"instance":"i-0abc123def4567890"}`
	sum := sha256.Sum256([]byte(body))
	good := base64.StdEncoding.EncodeToString(sum[:])
	tests := []struct {
		name    string
		in      func(bucket string) *s3.PutObjectInput
		wantErr string
	}{
		{"evidence with checksum", func(bucket string) *s3.PutObjectInput {
			return &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("cases/case-1/evidence.json"), Body: strings.NewReader(body),
				ContentType: aws.String("application/json"), ChecksumSHA256: aws.String(good)}
		}, ""},
		{"SDK-computed checksum", func(bucket string) *s3.PutObjectInput {
			return &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), Body: strings.NewReader(body), ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256}
		}, ""},
		{"wrong checksum", func(bucket string) *s3.PutObjectInput {
			return &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("k"), Body: strings.NewReader(body + " "), ChecksumSHA256: aws.String(good)}
		}, "BadDigest"},
		{"no such bucket", func(string) *s3.PutObjectInput {
			return &s3.PutObjectInput{Bucket: aws.String("nope"), Key: aws.String("k"), Body: strings.NewReader(body)}
		}, "NoSuchBucket"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, d, c := demo(t)
			out, err := c.S3.PutObject(context.Background(), tc.in(d.Bucket))
			wantCode(t, err, tc.wantErr)
			objs := w.Objects()
			if err != nil {
				if len(objs) != 0 {
					t.Errorf("refused object stored: %+v", objs)
				}
				return
			}
			if aws.ToString(out.ChecksumSHA256) != good || len(objs) != 1 || string(objs[0].Body) != body || objs[0].ChecksumSHA256 != good || objs[0].Bucket != d.Bucket {
				t.Errorf("out %+v, stored %+v", out, objs)
			}
		})
	}
}

func TestPutObjectIfNoneMatchProtectsExistingEvidence(t *testing.T) {
	w, d, c := demo(t)
	put := func(content string) error {
		_, err := c.S3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(d.Bucket), Key: aws.String("k"),
			Body: strings.NewReader(content), IfNoneMatch: aws.String("*")})
		return err
	}
	if err := put("first"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, put("second"), "PreconditionFailed")
	if objs := w.Objects(); len(objs) != 1 || string(objs[0].Body) != "first" || objs[0].ContentType != "binary/octet-stream" {
		t.Fatalf("objects = %+v", objs)
	}
}
