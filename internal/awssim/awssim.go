// Package awssim is a wire-level AWS simulator: an HTTP server on loopback
// that speaks the protocols the SDK speaks (EC2 query, awsQuery for Auto
// Scaling, ELB, ELBv2, SNS and STS, REST-XML for S3, awsJson for DynamoDB,
// restJson1 for Security Hub) for every operation in
// internal/awsapi, and serves them from a Backend, normally the in-memory
// AWS of internal/awsfake, so unit tests and wire tests share one model of
// AWS behaviour. Faults (latency, throttling, server errors, one-off error
// codes) can be injected per operation.
//
// Requests are decoded generically: Auto Scaling, ELB, ELBv2, SNS and STS
// inputs and outputs (de)serialize themselves through the SDK's runtime
// schemas; EC2, S3 and Security Hub, whose SDK packages predate schemas, go
// through a table generated from the SDK's own serializers (see gen).
package awssim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	smithy "github.com/aws/smithy-go"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/awsclient"
)

// Backend is the AWS the simulator serves: one account and Region's clients
// plus STS. A nil client leaves its service out.
type Backend struct {
	awsapi.Clients
	STS awsapi.STS
}

// Server is the simulator. It is an http.Handler; Start serves it on a
// random loopback port.
type Server struct {
	services serviceSet
	codec    *reflectCodec
	dir      *directory // nil: every request is served by services
	observer func(Request)
	authz    func(accessKeyID, action string) error
	faults   *faults
	log      *slog.Logger
	tls      *tlsIdentity

	mu       sync.Mutex
	srv      *http.Server
	ln       net.Listener
	endpoint string
}

type config struct {
	clock    func() time.Time
	seed     uint64
	log      *slog.Logger
	tls      bool
	dir      Directory
	observer func(Request)
	authz    func(accessKeyID, action string) error
	faults   []func(*faults)
}

// Option configures a Server.
type Option func(*config)

// WithAuthorizer asks authorize, for every query-protocol request (EC2,
// Auto Scaling, ELB, SNS, STS, IAM), whether the caller's key may perform
// service:Action; a refusal is answered as IAM's explicit deny is
// (UnauthorizedOperation for EC2, AccessDenied for the others, HTTP 403).
// awsfake.World.AuthorizeKey is one: it refuses what the role policies deny
// to an instance's credentials.
func WithAuthorizer(authorize func(accessKeyID, action string) error) Option {
	return func(c *config) { c.authz = authorize }
}

// WithSeed seeds the random choices of fault injection, for reproducible
// runs. The default seed is 1.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithClock sets the clock token buckets refill by (time.Now by default),
// so tests can drive refills deterministically.
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// WithLogger logs one debug line per request.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithTLS serves HTTPS with a self-signed certificate for 127.0.0.1,
// localhost and *.localhost. The SDK sends S3 bodies aws-chunked with
// trailing checksums only over TLS. Use HTTPClient to trust it.
func WithTLS() Option { return func(c *config) { c.tls = true } }

// WithLatency delays every request of the matching operations by a
// duration drawn uniformly from [min, max] (fixed when they are equal).
func WithLatency(pattern string, min, max time.Duration) Option {
	return func(c *config) {
		c.faults = append(c.faults, func(f *faults) { f.latency = append(f.latency, latencyRule{pattern, min, max}) })
	}
}

// WithThrottleRate answers that fraction of the matching requests with the
// service's throttling error (EC2 RequestLimitExceeded, query services
// Throttling, S3 SlowDown, DynamoDB ProvisionedThroughputExceededException).
func WithThrottleRate(pattern string, rate float64) Option {
	return func(c *config) {
		c.faults = append(c.faults, func(f *faults) { f.throttle = append(f.throttle, rateRule{pattern, rate}) })
	}
}

// WithServerErrorRate answers that fraction of the matching requests with
// HTTP 500 or 503, half each.
func WithServerErrorRate(pattern string, rate float64) Option {
	return func(c *config) {
		c.faults = append(c.faults, func(f *faults) { f.server = append(f.server, rateRule{pattern, rate}) })
	}
}

// WithLostResponseRate lets that fraction of the matching requests reach
// the backend, then answers HTTP 500 instead of the result: the call took
// effect but the client cannot know, which is what retries must survive.
func WithLostResponseRate(pattern string, rate float64) Option {
	return func(c *config) {
		c.faults = append(c.faults, func(f *faults) { f.lost = append(f.lost, rateRule{pattern, rate}) })
	}
}

// WithFailNext answers the next n matching requests with the error code.
func WithFailNext(pattern string, n int, code string) Option {
	return func(c *config) {
		c.faults = append(c.faults, func(f *faults) { f.next = append(f.next, failRule{pattern, n, code}) })
	}
}

// WithTokenBuckets throttles EC2 with token buckets sized like EC2's
// (Describe*/Get* 100 tokens refilled 20/s, unfiltered DescribeInstances
// 50/10, mutating actions 50/5, ModifyNetworkInterfaceAttribute and
// CreateSnapshot(s) 100/5, CreateTags 100/10); timeScale multiplies the
// refill rates so tests can run fast.
func WithTokenBuckets(timeScale float64) Option {
	return func(c *config) {
		c.faults = append(c.faults, func(f *faults) { f.buckets = newBucketSet(timeScale, f.now) })
	}
}

// New builds a simulator serving backend. It panics if the SDK and the
// generated wire tables disagree, which `go generate` fixes.
func New(backend Backend, opts ...Option) *Server {
	cfg := config{seed: 1}
	for _, o := range opts {
		o(&cfg)
	}
	codec := newReflectCodec()
	if err := codec.addTable("com.amazonaws.ec2", ec2Shapes); err != nil {
		panic(fmt.Sprintf("awssim: building the EC2 schemas: %v", err))
	}
	if err := codec.addTable("com.amazonaws.s3", s3Shapes); err != nil {
		panic(fmt.Sprintf("awssim: building the S3 schemas: %v", err))
	}
	services, err := bindServices(backend, codec)
	if err != nil {
		panic(fmt.Sprintf("awssim: binding the backend: %v", err))
	}
	s := &Server{
		services: services,
		codec:    codec,
		faults:   newFaults(cfg.seed),
		log:      cfg.log,
	}
	if cfg.dir != nil {
		s.dir = newDirectory(cfg.dir, codec)
	}
	s.observer = cfg.observer
	s.authz = cfg.authz
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.clock != nil {
		s.faults.now = cfg.clock
	}
	for _, fn := range cfg.faults {
		fn(s.faults)
	}
	if cfg.tls {
		id, err := newTLSIdentity()
		if err != nil {
			panic(fmt.Sprintf("awssim: making a certificate: %v", err))
		}
		s.tls = id
	}
	return s
}

// Start serves the simulator on 127.0.0.1 with a random port until ctx is
// done or Close is called, and returns its endpoint URL.
func (s *Server) Start(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return "", errors.New("awssim: already started")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listening on loopback: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	scheme := "http"
	if s.tls != nil {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{s.tls.cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
		scheme = "https"
	}
	s.srv, s.ln = srv, ln
	s.endpoint = scheme + "://" + ln.Addr().String()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serving the simulator", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		_ = s.Close()
	}()
	return s.endpoint, nil
}

// Endpoint is the URL Start returned ("" before Start).
func (s *Server) Endpoint() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endpoint
}

// Close stops the server and closes its connections.
func (s *Server) Close() error {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

// HTTPClient returns a client that trusts the simulator's certificate and
// connects every host name to the simulator, so virtual-hosted S3 names
// (bucket.s3.localhost) need no DNS.
func (s *Server) HTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		s.mu.Lock()
		addr := ""
		if s.ln != nil {
			addr = s.ln.Addr().String()
		}
		s.mu.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	if s.tls != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: s.tls.pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: bodyShield{tr}}
}

// bodyShield hides io.WriterTo on request bodies: smithy-go's body answers
// WriteTo with io.EOF once the SDK closed it, and when a fast server has
// already answered, net/http takes that for a failed write and closes the
// connection under the response (aws-sdk-go-v2 #2737).
type bodyShield struct{ next http.RoundTripper }

func (b bodyShield) RoundTrip(r *http.Request) (*http.Response, error) {
	return b.next.RoundTrip(awsclient.ShieldBody(r))
}

// Stats returns a copy of the counters per operation.
func (s *Server) Stats() Stats { return s.faults.snapshot() }

// AccountStats returns a copy of one account's counters (requests routed
// by a Directory only).
func (s *Server) AccountStats(account string) Stats { return s.faults.accountSnapshot(account) }

// ResetStats zeroes the counters.
func (s *Server) ResetStats() {
	s.faults.mu.Lock()
	s.faults.stats = map[string]*OpStats{}
	s.faults.byAccount = map[string]map[string]*OpStats{}
	s.faults.mu.Unlock()
}

// SetLatency is WithLatency at run time.
func (s *Server) SetLatency(pattern string, min, max time.Duration) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.latency = append(s.faults.latency, latencyRule{pattern, min, max})
}

// SetThrottleRate is WithThrottleRate at run time; rate 0 turns it off.
func (s *Server) SetThrottleRate(pattern string, rate float64) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.throttle = append(s.faults.throttle, rateRule{pattern, rate})
}

// SetServerErrorRate is WithServerErrorRate at run time; rate 0 turns it off.
func (s *Server) SetServerErrorRate(pattern string, rate float64) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.server = append(s.faults.server, rateRule{pattern, rate})
}

// SetLostResponseRate is WithLostResponseRate at run time; rate 0 turns it
// off.
func (s *Server) SetLostResponseRate(pattern string, rate float64) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.lost = append(s.faults.lost, rateRule{pattern, rate})
}

// FailNext is WithFailNext at run time.
func (s *Server) FailNext(pattern string, n int, code string) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.next = append(s.faults.next, failRule{pattern, n, code})
}

// SetTokenBuckets is WithTokenBuckets at run time, with full buckets;
// timeScale 0 turns the buckets off.
func (s *Server) SetTokenBuckets(timeScale float64) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.buckets = nil
	if timeScale > 0 {
		s.faults.buckets = newBucketSet(timeScale, s.faults.now)
	}
}

// ClearFaults removes every latency, rate, one-off and bucket rule.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.latency, s.faults.throttle, s.faults.server, s.faults.lost, s.faults.next = nil, nil, nil, nil, nil
	s.faults.buckets = nil
}

// maxBody bounds request bodies; SNS messages and S3 evidence objects are
// far smaller.
const maxBody = 64 << 20

// ServeHTTP routes a signed request by the service in its SigV4
// credential scope.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := newRequestID()
	signing, ok := signingService(r)
	if !ok {
		s.writeError(w, awsQuery, apiError{"MissingAuthenticationToken", "Request is missing Authentication Token", http.StatusForbidden}, reqID, nil)
		return
	}
	c, authErr := s.route(r)
	s.observe(r, signing, c.account)
	if authErr != nil {
		s.writeError(w, protocolOf(signing), authErrorFor(signing, authErr), reqID, nil)
		return
	}
	if signing == "s3" {
		s.serveS3(w, r, c, reqID)
		return
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		s.serveJSON(w, r, c, signing, target, reqID)
		return
	}
	if signing == "securityhub" {
		s.serveRestJSON(w, r, c, signing, reqID)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		s.writeError(w, awsQuery, apiError{"MalformedQueryString", "Reading the request body: " + err.Error(), http.StatusBadRequest}, reqID, nil)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		s.writeError(w, awsQuery, apiError{"MalformedQueryString", err.Error(), http.StatusBadRequest}, reqID, nil)
		return
	}
	for k, v := range r.URL.Query() {
		form[k] = append(form[k], v...)
	}
	svc := c.services.query(signing, form.Get("Version"))
	if svc == nil {
		e := apiError{"InvalidAction", fmt.Sprintf("The service %s is not simulated", signing), http.StatusBadRequest}
		if len(c.services[signing]) > 0 {
			e = apiError{"NoSuchVersion", fmt.Sprintf("The requested version (%s) of service %s does not exist", form.Get("Version"), signing), http.StatusBadRequest}
		}
		s.writeError(w, awsQuery, e, reqID, nil)
		return
	}
	action := form.Get("Action")
	op := svc.ops[action]
	if op == nil {
		s.writeError(w, svc.proto, apiError{"InvalidAction", fmt.Sprintf("The action %s is not valid for this web service.", action), http.StatusBadRequest}, reqID, nil)
		return
	}
	if s.authz != nil {
		if err := s.authz(accessKeyID(r), signing+":"+action); err != nil {
			code := "AccessDenied"
			if signing == "ec2" {
				code = "UnauthorizedOperation"
			}
			s.writeError(w, svc.proto, apiError{code, err.Error(), http.StatusForbidden}, reqID, nil)
			return
		}
	}
	s.serveQuery(w, r, op, form, c.account, reqID)
}

// serviceSet holds the bound services by SigV4 signing name.
type serviceSet map[string][]*service

func bindServices(b Backend, codec *reflectCodec) (serviceSet, error) {
	services, err := buildServices(b, codec)
	if err != nil {
		return nil, err
	}
	set := serviceSet{}
	for _, svc := range services {
		set[svc.signing] = append(set[svc.signing], svc)
	}
	return set, nil
}

// query picks the service for a signing name; ELB and ELBv2 share
// one and differ by API version.
func (set serviceSet) query(signing, version string) *service {
	candidates := set[signing]
	for _, svc := range candidates {
		if svc.version == version {
			return svc
		}
	}
	if len(candidates) == 1 && version == "" {
		return candidates[0]
	}
	return nil
}

func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request, op *operation, form url.Values, account, reqID string) {
	start := time.Now()
	svc := op.svc
	v := s.faults.decide(op, form, account, attempt(r))
	if !sleep(r.Context(), v.delay) {
		return
	}
	status := http.StatusOK
	defer func() {
		s.log.Debug("aws request", "op", op.key, "status", status, "request_id", reqID, "duration", time.Since(start))
	}()
	if v.err != nil {
		status = v.err.Status
		s.writeError(w, svc.proto, *v.err, reqID, nil)
		return
	}

	in := reflect.New(op.in).Interface()
	d := newFormDecoder(form, svc.proto == ec2Query)
	if err := s.codec.decode(d, in); err != nil {
		e := svc.fromError(err)
		status = e.Status
		s.writeError(w, svc.proto, e, reqID, nil)
		return
	}

	out, err := op.invoke(r.Context(), in)
	if err != nil {
		s.faults.countError(account, op.key)
		e := svc.fromError(err)
		status = e.Status
		s.writeError(w, svc.proto, e, reqID, nil)
		return
	}
	if v.lose {
		e := svc.serverError(true)
		status = e.Status
		s.writeError(w, svc.proto, e, reqID, nil)
		return
	}

	enc := &xmlEncoder{}
	if svc.proto == ec2Query {
		err = s.codec.encode(enc, out)
	} else if sz, ok := out.(smithy.Serializable); ok && !isNil(out) {
		sz.Serialize(enc)
	}
	if err != nil {
		e := svc.fromError(err)
		status = e.Status
		s.writeError(w, svc.proto, e, reqID, nil)
		return
	}

	var b bytes.Buffer
	b.WriteString(xml.Header)
	fmt.Fprintf(&b, `<%sResponse xmlns="%s">`, op.name, svc.xmlns)
	if svc.proto == ec2Query {
		fmt.Fprintf(&b, "<requestId>%s</requestId>", reqID)
		b.Write(enc.Bytes())
	} else {
		fmt.Fprintf(&b, "<%sResult>", op.name)
		b.Write(enc.Bytes())
		fmt.Fprintf(&b, "</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>", op.name, reqID)
	}
	fmt.Fprintf(&b, "</%sResponse>", op.name)
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("X-Amzn-Requestid", reqID)
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}

func (s *Server) writeError(w http.ResponseWriter, proto protocol, e apiError, reqID string, extra map[string]string) {
	body := errorBody(proto, e, reqID, extra)
	h := w.Header()
	if proto == restXML {
		h.Set("Content-Type", "application/xml")
		h.Set("X-Amz-Request-Id", reqID)
		h.Set("X-Amz-Id-2", hostID(reqID))
	} else {
		h.Set("Content-Type", "text/xml;charset=UTF-8")
		h.Set("X-Amzn-Requestid", reqID)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// signingService reads the service name from the SigV4 credential scope
// (Credential=AKID/20250101/us-east-1/ec2/aws4_request), in the
// Authorization header or, for presigned URLs, the query.
func signingService(r *http.Request) (string, bool) {
	cred := ""
	if auth := r.Header.Get("Authorization"); auth != "" {
		_, rest, ok := strings.Cut(auth, "Credential=")
		if !ok {
			return "", false
		}
		cred, _, _ = strings.Cut(rest, ",")
	} else {
		cred = r.URL.Query().Get("X-Amz-Credential")
	}
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[3] == "" {
		return "", false
	}
	return parts[3], true
}

// attempt reads the SDK's attempt number from amz-sdk-request
// ("attempt=2; max=3"); requests without it count as first attempts.
func attempt(r *http.Request) int {
	for part := range strings.SplitSeq(r.Header.Get("Amz-Sdk-Request"), ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "attempt="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				return n
			}
		}
	}
	return 1
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// newRequestID makes a request id shaped like AWS's (a UUID).
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// hostID derives S3's x-amz-id-2 from the request id.
func hostID(reqID string) string {
	return strings.ReplaceAll(reqID, "-", "")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
