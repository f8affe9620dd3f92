package awsfake

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// AddVersionedBucket creates a bucket with versioning on, as every Object
// Lock bucket is: each PutObject makes a new version and keeps the others.
func (w *World) AddVersionedBucket(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buckets.put(name, name)
	if w.versioned == nil {
		w.versioned, w.versions = map[string]bool{}, map[string][]*Object{}
	}
	w.versioned[name] = true
}

// newVersionID is shaped like S3's: 32 URL-safe characters, unique in the world.
func (w *World) newVersionID() string {
	w.seq++
	return fmt.Sprintf("v%031x", w.seq*0x9e3779b97f4a7c15)
}

// TamperObject changes the stored bytes of one version of an object ("" for
// the current one) behind S3's back, keeping the checksum S3 recorded: what
// a corrupted or altered object looks like to a reader that checks it.
func (w *World) TamperObject(bucket, key, versionID string, change func([]byte) []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	o, err := w.findObject(bucket, key, versionID)
	if err != nil {
		panic(fmt.Sprintf("awsfake: TamperObject: %v", err))
	}
	o.Body = change(slices.Clone(o.Body))
}

func (w *World) findObject(bucket, key, versionID string) (*Object, error) {
	if !w.buckets.has(bucket) {
		return nil, apiError("NoSuchBucket", "The specified bucket does not exist")
	}
	id := bucket + "/" + key
	switch {
	case versionID == "":
		if o, ok := w.objects.get(id); ok {
			return o, nil
		}
		return nil, apiError("NoSuchKey", "The specified key does not exist.")
	case !w.versioned[bucket]:
		// Objects of a bucket that never had versioning have the version "null".
		if o, ok := w.objects.get(id); ok && versionID == "null" {
			return o, nil
		}
		if versionID == "null" {
			return nil, apiError("NoSuchKey", "The specified key does not exist.")
		}
		return nil, apiError("InvalidArgument", "Invalid version id specified")
	}
	for _, o := range w.versions[id] {
		if o.VersionID == versionID {
			return o, nil
		}
	}
	return nil, apiError("NoSuchVersion", "The specified version does not exist.")
}

// GetObject returns one object (a given version, or the current one). With
// ChecksumMode ENABLED the checksum recorded at upload comes back too.
func (c *S3) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return call(ctx, c.w, svcS3, "GetObject", in, c.w.getObject)
}

func (w *World) getObject(in *s3.GetObjectInput) (*s3.GetObjectOutput, error) {
	if aws.ToString(in.Key) == "" {
		return nil, apiError("InvalidArgument", "Key must not be empty")
	}
	o, err := w.findObject(aws.ToString(in.Bucket), aws.ToString(in.Key), aws.ToString(in.VersionId))
	if err != nil {
		return nil, err
	}
	out := &s3.GetObjectOutput{
		Body:                 io.NopCloser(bytes.NewReader(slices.Clone(o.Body))),
		ContentLength:        aws.Int64(int64(len(o.Body))),
		ContentType:          aws.String(o.ContentType),
		ETag:                 aws.String(o.ETag),
		LastModified:         aws.Time(o.LastModified),
		Metadata:             maps.Clone(o.Metadata),
		ServerSideEncryption: o.SSE,
		AcceptRanges:         aws.String("bytes"),
	}
	if o.VersionID != "" {
		out.VersionId = aws.String(o.VersionID)
	}
	if in.ChecksumMode == s3types.ChecksumModeEnabled && o.ChecksumSHA256 != "" {
		out.ChecksumSHA256, out.ChecksumType = aws.String(o.ChecksumSHA256), s3types.ChecksumTypeFullObject
	}
	return out, nil
}

// ListObjectsV2 lists the current objects of a bucket in key order, under a
// prefix, MaxKeys (default and at most 1,000) at a time.
func (c *S3) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	return call(ctx, c.w, svcS3, "ListObjectsV2", in, c.w.listObjectsV2)
}

func (w *World) listObjectsV2(in *s3.ListObjectsV2Input) (*s3.ListObjectsV2Output, error) {
	bucket, prefix := aws.ToString(in.Bucket), aws.ToString(in.Prefix)
	if !w.buckets.has(bucket) {
		return nil, apiError("NoSuchBucket", "The specified bucket does not exist")
	}
	if aws.ToString(in.Delimiter) != "" {
		return nil, apiError("NotImplemented", "Delimiter is not simulated")
	}
	limit := 1000
	if in.MaxKeys != nil {
		if *in.MaxKeys < 0 {
			return nil, apiError("InvalidArgument", "maxKeys should be non-negative")
		}
		limit = min(int(*in.MaxKeys), 1000)
	}
	var objs []*Object
	for _, o := range w.objects.all() {
		if o.Bucket == bucket && strings.HasPrefix(o.Key, prefix) && o.Key > aws.ToString(in.StartAfter) {
			objs = append(objs, o)
		}
	}
	slices.SortFunc(objs, func(a, b *Object) int { return strings.Compare(a.Key, b.Key) })
	out := &s3.ListObjectsV2Output{Name: aws.String(bucket), Prefix: aws.String(prefix), MaxKeys: aws.Int32(int32(limit)),
		ContinuationToken: in.ContinuationToken, StartAfter: in.StartAfter}
	start := 0
	if t := aws.ToString(in.ContinuationToken); t != "" {
		// The token is the last key of the previous page.
		start = slices.IndexFunc(objs, func(o *Object) bool { return o.Key > t })
		if start < 0 {
			start = len(objs)
		}
	}
	end := min(start+limit, len(objs))
	for _, o := range objs[start:end] {
		obj := s3types.Object{Key: aws.String(o.Key), Size: aws.Int64(int64(len(o.Body))), ETag: aws.String(o.ETag),
			LastModified: aws.Time(o.LastModified), StorageClass: s3types.ObjectStorageClassStandard}
		if o.ChecksumSHA256 != "" {
			obj.ChecksumAlgorithm = []s3types.ChecksumAlgorithm{s3types.ChecksumAlgorithmSha256}
			obj.ChecksumType = s3types.ChecksumTypeFullObject
		}
		out.Contents = append(out.Contents, obj)
	}
	out.KeyCount = aws.Int32(int32(end - start))
	out.IsTruncated = aws.Bool(end < len(objs) && end > start)
	if end < len(objs) && end > start {
		out.NextContinuationToken = aws.String(objs[end-1].Key)
	}
	return out, nil
}
