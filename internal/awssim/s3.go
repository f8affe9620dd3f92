package awssim

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	smithy "github.com/aws/smithy-go"
)

// serveS3 answers an S3 REST request, path-style (/bucket/key) or
// virtual-hosted (bucket.s3.localhost/key).
func (s *Server) serveS3(w http.ResponseWriter, r *http.Request, c caller, reqID string) {
	start := time.Now()
	var svc *service
	if l := c.services["s3"]; len(l) > 0 {
		svc = l[0]
	}
	if svc == nil {
		s.writeError(w, restXML, apiError{"NotImplemented", "S3 is not simulated", http.StatusNotImplemented}, reqID, nil)
		return
	}
	bucket, rest := bucketAndPath(r)
	op, labels, e := s3Route(svc, r.Method, rest, r.URL.Query())
	if e != nil {
		s.writeError(w, restXML, *e, reqID, nil)
		return
	}
	status := http.StatusOK
	defer func() {
		s.log.Debug("aws request", "op", op.key, "status", status, "request_id", reqID, "duration", time.Since(start))
	}()
	fail := func(e apiError, extra map[string]string) {
		status = e.Status
		s.writeError(w, restXML, e, reqID, extra)
	}

	v := s.faults.decide(op, nil, c.account, attempt(r))
	if !sleep(r.Context(), v.delay) {
		return
	}
	if v.err != nil {
		fail(*v.err, nil)
		return
	}

	body, headers, err := readS3Body(r)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			fail(*ae, nil)
		} else {
			fail(apiError{"IncompleteBody", err.Error(), http.StatusBadRequest}, nil)
		}
		return
	}

	in := reflect.New(op.in)
	if err := bindS3Input(op.rest, in.Elem(), bucket, labels, headers, r.URL.Query(), body); err != nil {
		fail(svc.fromError(err), nil)
		return
	}
	out, err := op.invoke(r.Context(), in.Interface())
	if err != nil {
		s.faults.countError(c.account, op.key)
		e := svc.fromError(err)
		var extra map[string]string
		if e.Code == "NoSuchBucket" {
			extra = map[string]string{"BucketName": bucket}
		}
		fail(e, extra)
		return
	}
	if v.lose {
		fail(svc.serverError(true), nil)
		return
	}
	h := w.Header()
	if err := bindS3Output(op.rest, reflect.ValueOf(out), h); err != nil {
		fail(svc.fromError(err), nil)
		return
	}
	payload, err := s.s3Body(op, out)
	if err != nil {
		fail(svc.fromError(err), nil)
		return
	}
	h.Set("X-Amz-Request-Id", reqID)
	h.Set("X-Amz-Id-2", hostID(reqID))
	h.Set("Content-Length", strconv.Itoa(len(payload)))
	if op.rest.OutXML {
		h.Set("Content-Type", "application/xml")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(payload)
}

// s3Roots names the root element of each S3 XML response document: the SDK
// does not check it, but AWS sends it.
var s3Roots = map[string]string{"ListObjectsV2": "ListBucketResult"}

const s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// s3Body is the response body: the streamed payload field (GetObject's
// Body), the XML document, or nothing.
func (s *Server) s3Body(op *operation, out any) ([]byte, error) {
	v := reflect.ValueOf(out)
	switch {
	case v.IsNil():
		return nil, nil
	case op.rest.OutPayload != "":
		f := v.Elem().FieldByName(op.rest.OutPayload)
		r, ok := f.Interface().(io.ReadCloser)
		if !f.IsValid() || !ok || r == nil {
			return nil, nil
		}
		defer r.Close()
		b, err := io.ReadAll(io.LimitReader(r, maxBody))
		if err != nil {
			return nil, fmt.Errorf("reading %s.%s: %w", op.key, op.rest.OutPayload, err)
		}
		return b, nil
	case op.rest.OutXML:
		root, ok := s3Roots[op.name]
		if !ok {
			return nil, fmt.Errorf("%s: no root element known for its XML response", op.key)
		}
		enc := &xmlEncoder{}
		if err := s.codec.encode(enc, out); err != nil {
			return nil, err
		}
		var b bytes.Buffer
		b.WriteString(xml.Header)
		fmt.Fprintf(&b, `<%s xmlns="%s">`, root, s3Namespace)
		b.Write(enc.Bytes())
		fmt.Fprintf(&b, "</%s>", root)
		return b.Bytes(), nil
	}
	return nil, nil
}

// bucketAndPath splits the bucket from the rest of the object path.
func bucketAndPath(r *http.Request) (bucket, rest string) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if b, ok := virtualBucket(strings.ToLower(host)); ok {
		return b, r.URL.Path
	}
	p := strings.TrimPrefix(r.URL.Path, "/")
	bucket, rest, _ = strings.Cut(p, "/")
	return bucket, "/" + rest
}

// virtualBucket finds the bucket in a virtual-hosted name: the labels
// before ".s3." or ".s3-" (bucket.s3.us-east-1.amazonaws.com), or before
// ".localhost" (bucket.localhost). IPs and bare endpoints are path-style.
func virtualBucket(host string) (string, bool) {
	if net.ParseIP(host) != nil || host == "localhost" || strings.HasPrefix(host, "s3.") || strings.HasPrefix(host, "s3-") {
		return "", false
	}
	for _, sep := range []string{".s3.", ".s3-"} {
		if i := strings.Index(host, sep); i > 0 {
			return host[:i], true
		}
	}
	if b, ok := strings.CutSuffix(host, ".localhost"); ok && b != "" {
		return b, true
	}
	return "", false
}

// s3Route finds the operation whose method, URI and query match.
func s3Route(svc *service, method, path string, query url.Values) (*operation, map[string]string, *apiError) {
	methodSeen := false
	for _, op := range svc.ops {
		rest := op.rest
		if rest.Method != method {
			continue
		}
		labels, ok := matchPath(rest.Path, path)
		if !ok {
			continue
		}
		methodSeen = true
		if id := query.Get("x-id"); id != "" && id != op.name {
			continue
		}
		if !queryMatches(rest, query) {
			continue
		}
		return op, labels, nil
	}
	if methodSeen {
		return nil, nil, &apiError{"NotImplemented", "A header or query you provided implies functionality that is not simulated", http.StatusNotImplemented}
	}
	return nil, nil, &apiError{"MethodNotAllowed", fmt.Sprintf("The specified method %s is not allowed against this resource.", method), http.StatusMethodNotAllowed}
}

// queryMatches requires the operation's literal query keys (subresources
// such as ?acl) and refuses keys the operation does not know, so PUT
// /key?tagging is not mistaken for PutObject.
func queryMatches(rest *restOp, query url.Values) bool {
	known := map[string]bool{"x-id": true}
	for kv := range strings.SplitSeq(rest.Query, "&") {
		k, _, _ := strings.Cut(kv, "=")
		if k == "" || k == "x-id" {
			continue
		}
		if !query.Has(k) {
			return false
		}
		known[k] = true
	}
	for _, b := range rest.In {
		if b.Query != "" {
			known[b.Query] = true
		}
	}
	for k := range query {
		if !known[k] && !strings.HasPrefix(strings.ToLower(k), "x-amz-") {
			return false
		}
	}
	return true
}

// matchPath matches a URI pattern ("/{Key+}", "/{Bucket}/x/{Id}") and
// returns its labels.
func matchPath(pattern, path string) (map[string]string, bool) {
	labels := map[string]string{}
	ps := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, p := range ps {
		if name, ok := strings.CutPrefix(p, "{"); ok {
			name = strings.TrimSuffix(name, "}")
			if greedy, ok := strings.CutSuffix(name, "+"); ok {
				if i >= len(segs) {
					return nil, false
				}
				v := strings.Join(segs[i:], "/")
				if v == "" {
					return nil, false
				}
				labels[greedy] = v
				return labels, true
			}
			if i >= len(segs) || segs[i] == "" {
				return nil, false
			}
			labels[name] = segs[i]
			continue
		}
		if i >= len(segs) || segs[i] != p {
			return nil, false
		}
	}
	return labels, len(segs) == len(ps)
}

// readS3Body reads the payload, undoing aws-chunked encoding, and returns
// the headers with any trailers merged in.
func readS3Body(r *http.Request) ([]byte, http.Header, error) {
	headers := r.Header.Clone()
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the body: %w", err)
	}
	body := raw
	chunked := strings.HasPrefix(headers.Get("X-Amz-Content-Sha256"), "STREAMING-")
	var encodings []string
	for _, v := range headers.Values("Content-Encoding") {
		for enc := range strings.SplitSeq(v, ",") {
			enc = strings.TrimSpace(enc)
			if strings.EqualFold(enc, "aws-chunked") {
				chunked = true
			} else if enc != "" {
				encodings = append(encodings, enc)
			}
		}
	}
	headers.Del("Content-Encoding")
	if len(encodings) > 0 {
		headers.Set("Content-Encoding", strings.Join(encodings, ","))
	}
	if chunked {
		var trailers http.Header
		body, trailers, err = decodeAWSChunked(raw)
		if err != nil {
			return nil, nil, &apiError{"IncompleteBody", "Decoding the aws-chunked body: " + err.Error(), http.StatusBadRequest}
		}
		if want := headers.Get("X-Amz-Decoded-Content-Length"); want != "" && want != strconv.Itoa(len(body)) {
			return nil, nil, &apiError{"IncompleteBody", "The request body terminated unexpectedly", http.StatusBadRequest}
		}
		for k, vs := range trailers {
			for _, v := range vs {
				headers.Add(k, v)
			}
		}
	}
	headers.Set("Content-Length", strconv.Itoa(len(body)))
	if err := verifyPayloadHash(headers, body); err != nil {
		return nil, nil, err
	}
	return body, headers, nil
}

// decodeAWSChunked decodes "<hex size>[;chunk-signature=...]\r\n<data>\r\n"
// chunks up to the zero chunk, then "name:value\r\n" trailers.
func decodeAWSChunked(raw []byte) ([]byte, http.Header, error) {
	br := bufio.NewReader(bytes.NewReader(raw))
	var body []byte
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return nil, nil, fmt.Errorf("reading a chunk header: %w", err)
		}
		sizeText, _, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ";")
		size, err := strconv.ParseInt(strings.TrimSpace(sizeText), 16, 64)
		if err != nil || size < 0 || size > maxBody {
			return nil, nil, fmt.Errorf("bad chunk size %q", sizeText)
		}
		if size == 0 {
			break
		}
		chunk := make([]byte, size+2)
		if _, err := io.ReadFull(br, chunk); err != nil {
			return nil, nil, fmt.Errorf("reading a chunk: %w", err)
		}
		if string(chunk[size:]) != "\r\n" {
			return nil, nil, errors.New("chunk not terminated by CRLF")
		}
		body = append(body, chunk[:size]...)
	}
	trailers := http.Header{}
	for {
		line, err := br.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, nil, fmt.Errorf("bad trailer %q", line)
		}
		if !strings.EqualFold(name, "x-amz-trailer-signature") {
			trailers.Add(strings.TrimSpace(name), strings.TrimSpace(value))
		}
		if err != nil {
			break
		}
	}
	return body, trailers, nil
}

// verifyPayloadHash checks the SigV4 payload hash, a transport-level
// check; the x-amz-checksum-* and Content-MD5 values go to the backend,
// which owns S3's behaviour.
func verifyPayloadHash(h http.Header, body []byte) error {
	if want := h.Get("X-Amz-Content-Sha256"); len(want) == 64 {
		sum := sha256.Sum256(body)
		if hex.EncodeToString(sum[:]) != want {
			return &apiError{"XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.", http.StatusBadRequest}
		}
	}
	return nil
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// bindS3Input fills an input struct from the request's bindings.
func bindS3Input(rest *restOp, v reflect.Value, bucket string, labels map[string]string, h http.Header, q url.Values, body []byte) error {
	if f := v.FieldByName("Bucket"); f.IsValid() {
		if err := setText(f, bucket, ""); err != nil {
			return err
		}
	}
	for _, b := range rest.In {
		f := v.FieldByName(b.Field)
		if !f.IsValid() {
			return fmt.Errorf("%s has no field %s: regenerate the wire table", v.Type(), b.Field)
		}
		var text string
		var ok bool
		switch {
		case b.Label != "":
			text, ok = labels[b.Label]
		case b.Query != "":
			ok = q.Has(b.Query)
			text = q.Get(b.Query)
		case b.Prefix != "":
			m := reflect.MakeMap(f.Type())
			for k, vs := range h {
				if name, found := cutPrefixFold(k, b.Prefix); found && len(vs) > 0 {
					m.SetMapIndex(reflect.ValueOf(strings.ToLower(name)), reflect.ValueOf(vs[0]))
				}
			}
			if m.Len() > 0 {
				f.Set(m)
			}
			continue
		case b.Header != "":
			vs := h.Values(b.Header)
			ok = len(vs) > 0
			text = strings.Join(vs, ",")
		}
		if !ok {
			continue
		}
		format := b.Time
		if format == "" && b.Header != "" {
			format = "http-date"
		}
		if err := setText(f, text, format); err != nil {
			return &smithy.GenericAPIError{Code: "InvalidArgument", Message: fmt.Sprintf("Invalid value %q for %s: %v", text, b.Field, err)}
		}
	}
	if rest.Payload != "" {
		f := v.FieldByName(rest.Payload)
		if f.IsValid() && f.Type() == reflect.TypeFor[io.Reader]() {
			f.Set(reflect.ValueOf(io.Reader(bytes.NewReader(body))))
		}
	}
	return nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return "", false
}

// setText stores text in a scalar field (or a pointer to one).
func setText(f reflect.Value, text, timeFormat string) error {
	if f.Kind() == reflect.Pointer {
		p := reflect.New(f.Type().Elem())
		if err := setText(p.Elem(), text, timeFormat); err != nil {
			return err
		}
		f.Set(p)
		return nil
	}
	if f.Type() == timeType {
		t, err := parseTime(timeFormat, text)
		if err != nil {
			return err
		}
		f.Set(reflect.ValueOf(t))
		return nil
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(text)
	case reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
		n, err := strconv.ParseInt(text, 10, f.Type().Bits())
		if err != nil {
			return err
		}
		f.SetInt(n)
	case reflect.Float32, reflect.Float64:
		x, err := strconv.ParseFloat(text, f.Type().Bits())
		if err != nil {
			return err
		}
		f.SetFloat(x)
	default:
		return fmt.Errorf("unsupported field type %s", f.Type())
	}
	return nil
}

// bindS3Output writes an output struct's header bindings.
func bindS3Output(rest *restOp, out reflect.Value, h http.Header) error {
	if out.Kind() == reflect.Pointer {
		if out.IsNil() {
			return nil
		}
		out = out.Elem()
	}
	for _, b := range rest.Out {
		f := out.FieldByName(b.Field)
		if !f.IsValid() {
			return fmt.Errorf("%s has no field %s: regenerate the wire table", out.Type(), b.Field)
		}
		if f.IsZero() {
			continue
		}
		if b.Prefix != "" && f.Kind() == reflect.Map {
			for _, k := range f.MapKeys() {
				h.Set(b.Prefix+k.String(), f.MapIndex(k).String())
			}
			continue
		}
		for f.Kind() == reflect.Pointer {
			f = f.Elem()
		}
		format := b.Time
		if format == "" {
			format = "http-date"
		}
		var text string
		switch {
		case f.Type() == timeType:
			text = formatTime(format, f.Interface().(time.Time))
		case f.Kind() == reflect.String:
			text = f.String()
		case f.Kind() == reflect.Bool:
			text = strconv.FormatBool(f.Bool())
		case f.CanInt():
			text = strconv.FormatInt(f.Int(), 10)
		case f.CanFloat():
			text = strconv.FormatFloat(f.Float(), 'f', -1, 64)
		default:
			return fmt.Errorf("%s.%s: unsupported header type %s", out.Type(), b.Field, f.Type())
		}
		h.Set(b.Header, text)
	}
	return nil
}
