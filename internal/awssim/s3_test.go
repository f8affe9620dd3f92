package awssim_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/firebreak-ir/firebreak/internal/awssim"
)

// recorder keeps the requests a client sent, as the server saw them.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []*http.Request
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Clone(context.Background()))
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recorder) last() *http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reqs[len(r.reqs)-1]
}

// TestS3PutObjectAddressingAndEncoding uploads evidence with the real S3
// client path-style and virtual-hosted, over HTTP and over HTTPS (where the
// SDK streams the body aws-chunked with a trailing CRC32), and checks the
// object the fake stored.
func TestS3PutObjectAddressingAndEncoding(t *testing.T) {
	tests := []struct {
		name        string
		tls         bool
		host        string // endpoint host name; the client dials the simulator whatever it is
		pathStyle   bool
		wantVirtual bool
		wantChunked bool
	}{
		{name: "path style, http", host: "127.0.0.1", pathStyle: true},
		{name: "IP endpoint falls back to path style", host: "127.0.0.1"},
		{name: "virtual host, http", host: "s3.localhost", wantVirtual: true},
		{name: "path style, https, aws-chunked", tls: true, host: "localhost", pathStyle: true, wantChunked: true},
		{name: "virtual host, https, aws-chunked", tls: true, host: "s3.localhost", wantVirtual: true, wantChunked: true},
	}
	body := bytes.Repeat([]byte("evidence line\n"), 10000) // 140 kB: several chunks
	key := "evidence/i-0abc1234def567890/console output.txt"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, d := demoWorld()
			var opts []awssim.Option
			if tt.tls {
				opts = append(opts, awssim.WithTLS())
			}
			sim := startSim(t, awssim.Backend{Clients: w.Clients(), STS: w.STS()}, opts...)
			u, _ := url.Parse(sim.Endpoint())
			u.Host = tt.host + ":" + u.Port()
			cfg := sdkConfigAt(t, sim, u.String(), 1)
			rec := &recorder{next: sim.HTTPClient().Transport}
			cfg.HTTPClient = &http.Client{Transport: rec}
			client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = tt.pathStyle })

			out, err := client.PutObject(context.Background(), &s3.PutObjectInput{
				Bucket: aws.String(d.Bucket), Key: aws.String(key), Body: bytes.NewReader(body),
				ContentType: aws.String("text/plain"), Metadata: map[string]string{"Finding-Id": "f-1"},
			})
			if err != nil {
				t.Fatalf("putting the object: %v", err)
			}

			req := rec.last()
			if virtual := strings.HasPrefix(req.URL.Host, d.Bucket+"."); virtual != tt.wantVirtual {
				t.Errorf("request to %s%s: virtual-hosted = %v, want %v", req.URL.Host, req.URL.Path, virtual, tt.wantVirtual)
			}
			if chunked := strings.Contains(req.Header.Get("Content-Encoding"), "aws-chunked"); chunked != tt.wantChunked {
				t.Errorf("Content-Encoding %q: aws-chunked = %v, want %v", req.Header.Get("Content-Encoding"), chunked, tt.wantChunked)
			}
			if got, want := aws.ToString(out.ChecksumCRC32), crc32Of(body); got != want {
				t.Errorf("echoed CRC32 = %q, want %q", got, want)
			}
			objs := w.Objects()
			if len(objs) != 1 {
				t.Fatalf("stored %d objects, want 1", len(objs))
			}
			o := objs[0]
			if o.Bucket != d.Bucket || o.Key != key || !bytes.Equal(o.Body, body) {
				t.Errorf("stored %s/%s with %d bytes, want %s/%s with %d", o.Bucket, o.Key, len(o.Body), d.Bucket, key, len(body))
			}
			if o.ContentType != "text/plain" || o.Metadata["finding-id"] != "f-1" {
				t.Errorf("stored content type %q and metadata %v", o.ContentType, o.Metadata)
			}
			if aws.ToString(out.ETag) != o.ETag {
				t.Errorf("ETag = %s, want %s", aws.ToString(out.ETag), o.ETag)
			}
		})
	}
}

func crc32Of(b []byte) string {
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b)))
}

// TestS3AWSChunkedTrailerReachesTheBackend sends aws-chunked bodies by hand
// (chunk signatures and a trailing checksum, as SigV4 streaming defines
// them): the trailer is checked by the backend like a header would be.
func TestS3AWSChunkedTrailerReachesTheBackend(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantCode   string
		wantObject string
	}{
		{
			name:       "two signed chunks and a good trailer",
			body:       "6;chunk-signature=aa\r\nhello \r\n5;chunk-signature=bb\r\nworld\r\n0;chunk-signature=cc\r\nx-amz-checksum-crc32:" + crc32Of([]byte("hello world")) + "\r\n\r\n",
			wantStatus: http.StatusOK,
			wantObject: "hello world",
		},
		{
			name:       "a trailer that does not match",
			body:       "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
			wantStatus: http.StatusBadRequest,
			wantCode:   "BadDigest",
		},
		{
			name:       "a chunk shorter than announced",
			body:       "c\r\nhello world\r\n0\r\n\r\n",
			wantStatus: http.StatusBadRequest,
			wantCode:   "IncompleteBody",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, d := demoWorld()
			sim := startSim(t, awssim.Backend{Clients: w.Clients(), STS: w.STS()})
			req, err := http.NewRequest(http.MethodPut, sim.Endpoint()+"/"+d.Bucket+"/notes.txt?x-id=PutObject", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDSIMULATOR/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0")
			req.Header.Set("Content-Encoding", "aws-chunked")
			req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
			req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
			req.Header.Set("X-Amz-Decoded-Content-Length", "11")
			resp, err := sim.HTTPClient().Do(req)
			if err != nil {
				t.Fatalf("sending: %v", err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, b)
			}
			if tt.wantCode != "" && !strings.Contains(string(b), "<Code>"+tt.wantCode+"</Code>") {
				t.Errorf("body %s, want error code %s", b, tt.wantCode)
			}
			objs := w.Objects()
			if tt.wantObject == "" {
				if len(objs) != 0 {
					t.Errorf("stored %d objects, want none", len(objs))
				}
				return
			}
			if len(objs) != 1 || string(objs[0].Body) != tt.wantObject {
				t.Errorf("stored %v, want one object %q", objs, tt.wantObject)
			}
		})
	}
}
