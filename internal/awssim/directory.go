package awssim

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	smithy "github.com/aws/smithy-go"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
)

// Directory serves several accounts: each request acts in the account its
// credentials belong to, as the access key id in its SigV4 signature says.
// awsfake.Organization is one.
type Directory interface {
	// Principal names the account and principal (a session ARN) an access
	// key belongs to; an error is AWS's refusal of an unknown or expired
	// key (InvalidClientTokenId, ExpiredToken).
	Principal(accessKeyID string) (account, principal string, err error)
	// Clients are what requests reach in an account.
	Clients(account string) awsapi.Clients
	// STSFor is STS as called by that principal.
	STSFor(account, principal string) awsapi.STS
}

// WithDirectory routes every request by its access key id to one account
// of d, instead of serving the Backend given to New to any caller. Token
// buckets and per-account Stats are then kept per account, as EC2 throttles
// per account and Region.
func WithDirectory(d Directory) Option { return func(c *config) { c.dir = d } }

// Request is what an observer is told of each request, before it is served.
type Request struct {
	// Account is the account it acts in ("" without a Directory or when
	// its key was refused).
	Account string
	// Service is the SigV4 signing name (ec2, sts, s3, ...).
	Service   string
	UserAgent string
}

// WithObserver calls fn for every request, from the goroutine serving it.
func WithObserver(fn func(Request)) Option { return func(c *config) { c.observer = fn } }

func (s *Server) observe(r *http.Request, signing, account string) {
	if s.observer != nil {
		s.observer(Request{Account: account, Service: signing, UserAgent: r.Header.Get("User-Agent")})
	}
}

// directory binds each principal's services once.
type directory struct {
	d     Directory
	codec *reflectCodec

	mu    sync.Mutex
	bound map[string]serviceSet // by account and principal
}

func newDirectory(d Directory, codec *reflectCodec) *directory {
	return &directory{d: d, codec: codec, bound: map[string]serviceSet{}}
}

// caller is what one request reaches: an account's services ("" account
// without a directory).
type caller struct {
	account  string
	services serviceSet
}

// route finds the services a request's credentials reach.
func (s *Server) route(r *http.Request) (caller, error) {
	if s.dir == nil {
		return caller{services: s.services}, nil
	}
	account, principal, err := s.dir.d.Principal(accessKeyID(r))
	if err != nil {
		return caller{}, err
	}
	s.dir.mu.Lock()
	defer s.dir.mu.Unlock()
	key := account + " " + principal
	set, ok := s.dir.bound[key]
	if !ok {
		set, err = bindServices(Backend{Clients: s.dir.d.Clients(account), STS: s.dir.d.STSFor(account, principal)}, s.dir.codec)
		if err != nil {
			panic(fmt.Sprintf("awssim: binding account %s: %v", account, err))
		}
		s.dir.bound[key] = set
	}
	return caller{account: account, services: set}, nil
}

// accessKeyID reads the key id from the SigV4 credential scope
// (Credential=AKID/20250101/us-east-1/ec2/aws4_request).
func accessKeyID(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if auth := r.Header.Get("Authorization"); auth != "" {
		_, rest, _ := strings.Cut(auth, "Credential=")
		cred, _, _ = strings.Cut(rest, ",")
	}
	id, _, _ := strings.Cut(strings.TrimSpace(cred), "/")
	return id
}

func protocolOf(signing string) protocol {
	switch signing {
	case "ec2":
		return ec2Query
	case "s3":
		return restXML
	}
	return awsQuery
}

// authErrorFor spells a refused key the way each service does: EC2 says
// AuthFailure and S3 InvalidAccessKeyId where the query services say
// InvalidClientTokenId; ExpiredToken is common to all.
func authErrorFor(signing string, err error) apiError {
	code, msg := "InvalidClientTokenId", "The security token included in the request is invalid."
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code, msg = ae.ErrorCode(), ae.ErrorMessage()
	}
	switch {
	case code == "ExpiredToken" && signing == "s3":
		return apiError{code, "The provided token has expired.", http.StatusBadRequest}
	case code == "ExpiredToken":
		return apiError{code, msg, http.StatusForbidden}
	case signing == "ec2":
		return apiError{"AuthFailure", "AWS was not able to validate the provided access credentials", http.StatusUnauthorized}
	case signing == "s3":
		return apiError{"InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", http.StatusForbidden}
	}
	return apiError{code, msg, http.StatusForbidden}
}
