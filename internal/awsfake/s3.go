package awsfake

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3 is the fake Amazon S3 API (awsapi.S3).
type S3 struct{ w *World }

// Object is one stored S3 object.
type Object struct {
	Bucket, Key    string
	Body           []byte
	ContentType    string
	Metadata       map[string]string
	ETag           string // quoted hex MD5, as S3 returns it
	ChecksumSHA256 string // base64, as S3 reports it
	SSE            s3types.ServerSideEncryption
	ObjectLockMode s3types.ObjectLockMode
	RetainUntil    time.Time
	LegalHold      s3types.ObjectLockLegalHoldStatus
	Tagging        string
	LastModified   time.Time
	// VersionID is "" in a bucket without versioning.
	VersionID string
}

// AddBucket creates a bucket.
func (w *World) AddBucket(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buckets.put(name, name)
}

// Objects returns copies of every stored object, in the order first written.
func (w *World) Objects() []Object {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Object
	for _, o := range w.objects.all() {
		c := *o
		c.Body = slices.Clone(o.Body)
		c.Metadata = maps.Clone(o.Metadata)
		out = append(out, c)
	}
	return out
}

// PutObject stores an object, verifying any checksum the caller sent.
func (c *S3) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	return call(ctx, c.w, svcS3, "PutObject", in, c.w.putObject)
}

func (w *World) putObject(in *s3.PutObjectInput) (*s3.PutObjectOutput, error) {
	bucket, key := aws.ToString(in.Bucket), aws.ToString(in.Key)
	if !w.buckets.has(bucket) {
		return nil, apiError("NoSuchBucket", "The specified bucket does not exist")
	}
	if key == "" {
		return nil, apiError("InvalidArgument", "Key must not be empty")
	}
	var body []byte
	if in.Body != nil {
		b, err := io.ReadAll(in.Body)
		if err != nil {
			return nil, fmt.Errorf("reading object body: %w", err)
		}
		body = b
	}
	if in.ContentLength != nil && *in.ContentLength != int64(len(body)) {
		return nil, apiError("IncompleteBody", "The request body terminated unexpectedly")
	}
	id := bucket + "/" + key
	if aws.ToString(in.IfNoneMatch) == "*" && w.objects.has(id) {
		return nil, apiError("PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	}
	md5sum := md5.Sum(body)
	if in.ContentMD5 != nil && *in.ContentMD5 != base64.StdEncoding.EncodeToString(md5sum[:]) {
		return nil, apiError("BadDigest", "The Content-MD5 you specified did not match what we received.")
	}
	sums := checksums(body)
	out := &s3.PutObjectOutput{
		ETag:                 aws.String(`"` + hex.EncodeToString(md5sum[:]) + `"`),
		ServerSideEncryption: s3types.ServerSideEncryptionAes256,
		Size:                 aws.Int64(int64(len(body))),
	}
	for _, c := range []struct {
		algo s3types.ChecksumAlgorithm
		sent *string
		echo **string
	}{
		{s3types.ChecksumAlgorithmSha256, in.ChecksumSHA256, &out.ChecksumSHA256},
		{s3types.ChecksumAlgorithmSha1, in.ChecksumSHA1, &out.ChecksumSHA1},
		{s3types.ChecksumAlgorithmCrc32, in.ChecksumCRC32, &out.ChecksumCRC32},
		{s3types.ChecksumAlgorithmCrc32c, in.ChecksumCRC32C, &out.ChecksumCRC32C},
	} {
		want := sums[c.algo]
		if c.sent != nil && *c.sent != want {
			return nil, apiError("BadDigest", "The %s you specified did not match the calculated checksum.", c.algo)
		}
		if c.sent != nil || in.ChecksumAlgorithm == c.algo {
			*c.echo = aws.String(want)
			out.ChecksumType = s3types.ChecksumTypeFullObject
		}
	}
	if in.ServerSideEncryption != "" {
		out.ServerSideEncryption = in.ServerSideEncryption
	}
	o := &Object{
		Bucket: bucket, Key: key, Body: body,
		ContentType:    aws.ToString(in.ContentType),
		Metadata:       maps.Clone(in.Metadata),
		ETag:           *out.ETag,
		ChecksumSHA256: sums[s3types.ChecksumAlgorithmSha256],
		SSE:            out.ServerSideEncryption,
		ObjectLockMode: in.ObjectLockMode,
		LegalHold:      in.ObjectLockLegalHoldStatus,
		Tagging:        aws.ToString(in.Tagging),
		LastModified:   w.nowLocked(),
	}
	if o.ContentType == "" {
		o.ContentType = "binary/octet-stream" // what S3 records when none is sent
	}
	if in.ObjectLockRetainUntilDate != nil {
		o.RetainUntil = *in.ObjectLockRetainUntilDate
	}
	if w.versioned[bucket] {
		o.VersionID = w.newVersionID()
		out.VersionId = aws.String(o.VersionID)
		w.versions[id] = append(w.versions[id], o)
	}
	w.objects.put(id, o)
	return out, nil
}

// checksums computes each full-object checksum S3 can verify, base64 as on the wire.
func checksums(body []byte) map[s3types.ChecksumAlgorithm]string {
	enc := base64.StdEncoding.EncodeToString
	sha := sha256.Sum256(body)
	s1 := sha1.Sum(body)
	crc := binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(body))
	crcc := binary.BigEndian.AppendUint32(nil, crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)))
	return map[s3types.ChecksumAlgorithm]string{
		s3types.ChecksumAlgorithmSha256: enc(sha[:]),
		s3types.ChecksumAlgorithmSha1:   enc(s1[:]),
		s3types.ChecksumAlgorithmCrc32:  enc(crc),
		s3types.ChecksumAlgorithmCrc32c: enc(crcc),
	}
}
