package awssim_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/firebreak-ir/firebreak/internal/awssim"
)

// TestS3GetObjectVersionAndChecksum reads an evidence object back with the
// real client at its version, with the SHA-256 S3 recorded, and checks that
// the SDK itself refuses a body that no longer matches that checksum.
func TestS3GetObjectVersionAndChecksum(t *testing.T) {
	w, d := demoWorld()
	sim := startSim(t, awssim.Backend{Clients: w.Clients(), STS: w.STS()})
	client := s3.NewFromConfig(sdkConfig(t, sim, 1), func(o *s3.Options) { o.UsePathStyle = true })
	ctx := context.Background()
	body := []byte(`{"instance":"i-0abc1234def567890"}`)
	sum := sha256.Sum256(body)
	put, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(d.Bucket), Key: aws.String("c/capture.json"), Body: bytes.NewReader(body),
		ChecksumAlgorithm: s3types.ChecksumAlgorithmSha256, ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum[:]))})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(put.VersionId) == "" {
		t.Fatal("PutObject into the versioned evidence bucket returned no VersionId")
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(d.Bucket), Key: aws.String("c/capture.json"), Body: strings.NewReader("later")}); err != nil {
		t.Fatal(err)
	}
	get := func() ([]byte, *s3.GetObjectOutput, error) {
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(d.Bucket), Key: aws.String("c/capture.json"),
			VersionId: put.VersionId, ChecksumMode: s3types.ChecksumModeEnabled})
		if err != nil {
			return nil, nil, err
		}
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		return b, out, err
	}
	got, out, err := get()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("GetObject at the first version: %q, %v; want the first body", got, err)
	}
	if aws.ToString(out.VersionId) != aws.ToString(put.VersionId) || aws.ToString(out.ChecksumSHA256) != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("version %q checksum %q, want %q and the SHA-256 of the body", aws.ToString(out.VersionId), aws.ToString(out.ChecksumSHA256), aws.ToString(put.VersionId))
	}
	w.TamperObject(d.Bucket, "c/capture.json", aws.ToString(put.VersionId), func(b []byte) []byte { b[3] ^= 0x20; return b })
	if got, _, err := get(); err == nil {
		t.Errorf("the SDK accepted a body that does not match its checksum: %q", got)
	}
	_, err = client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(d.Bucket), Key: aws.String("c/capture.json"), VersionId: aws.String("vnope")})
	assertWireError(t, err, "NoSuchVersion", http.StatusNotFound)
}

// TestS3ListObjectsV2Pages lists under a prefix, one key a page, through the
// SDK's paginator: the XML document round-trips.
func TestS3ListObjectsV2Pages(t *testing.T) {
	w, d := demoWorld()
	sim := startSim(t, awssim.Backend{Clients: w.Clients(), STS: w.STS()})
	client := s3.NewFromConfig(sdkConfig(t, sim, 1), func(o *s3.Options) { o.UsePathStyle = true })
	ctx := context.Background()
	for _, k := range []string{"a/i/c/report-2.json", "a/i/c/capture.json", "a/i/c/report-1.json", "a/i/d/report-1.json"} {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(d.Bucket), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatal(err)
		}
	}
	p := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(d.Bucket), Prefix: aws.String("a/i/c/report-"), MaxKeys: aws.Int32(1)})
	var keys []string
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
			if aws.ToInt64(o.Size) != int64(len(aws.ToString(o.Key))) || o.LastModified == nil {
				t.Errorf("%s: size %d, modified %v", aws.ToString(o.Key), aws.ToInt64(o.Size), o.LastModified)
			}
		}
	}
	if want := []string{"a/i/c/report-1.json", "a/i/c/report-2.json"}; !slices.Equal(keys, want) {
		t.Errorf("listed %v, want %v", keys, want)
	}
}
