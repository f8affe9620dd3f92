package awssim

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"net/http"

	smithy "github.com/aws/smithy-go"
)

// apiError is an error as it goes on the wire.
type apiError struct {
	Code, Message string
	Status        int
}

// ec2Status holds the EC2 codes not answered with 400 Bad Request.
var ec2Status = map[string]int{
	"AuthFailure":           http.StatusUnauthorized,
	"UnauthorizedOperation": http.StatusForbidden,
	"Blocked":               http.StatusForbidden,
	"DryRunOperation":       http.StatusPreconditionFailed,
	"RequestLimitExceeded":  http.StatusServiceUnavailable,
	"InternalError":         http.StatusInternalServerError,
	"Unavailable":           http.StatusServiceUnavailable,
	"ServiceUnavailable":    http.StatusServiceUnavailable,
}

// s3Status holds the S3 codes not answered with 400 Bad Request.
var s3Status = map[string]int{
	"AccessDenied":        http.StatusForbidden,
	"NoSuchBucket":        http.StatusNotFound,
	"NoSuchKey":           http.StatusNotFound,
	"NoSuchVersion":       http.StatusNotFound,
	"MethodNotAllowed":    http.StatusMethodNotAllowed,
	"PreconditionFailed":  http.StatusPreconditionFailed,
	"NotImplemented":      http.StatusNotImplemented,
	"InternalError":       http.StatusInternalServerError,
	"ServiceUnavailable":  http.StatusServiceUnavailable,
	"SlowDown":            http.StatusServiceUnavailable,
	"BucketAlreadyExists": http.StatusConflict,
}

// commonStatus holds the codes every query service shares.
var commonStatus = map[string]int{
	"AccessDenied":               http.StatusForbidden,
	"AccessDeniedException":      http.StatusForbidden,
	"IncompleteSignature":        http.StatusBadRequest,
	"InternalFailure":            http.StatusInternalServerError,
	"MissingAuthenticationToken": http.StatusForbidden,
	"ServiceUnavailable":         http.StatusServiceUnavailable,
	"Throttling":                 http.StatusBadRequest,
	"RequestLimitExceeded":       http.StatusServiceUnavailable,
}

// errorFor builds the wire error for a code, with the service's status.
func (svc *service) errorFor(code, message string) apiError {
	status, ok := svc.status[code]
	if !ok {
		status, ok = commonStatus[code]
	}
	if !ok {
		status = http.StatusBadRequest
	}
	return apiError{Code: code, Message: message, Status: status}
}

// fromError turns a backend error into the wire error AWS would send.
func (svc *service) fromError(err error) apiError {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e := svc.errorFor(ae.ErrorCode(), ae.ErrorMessage())
		if _, known := svc.status[e.Code]; !known && ae.ErrorFault() == smithy.FaultServer && e.Status < 500 {
			e.Status = http.StatusInternalServerError
		}
		return e
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return svc.serverError(false)
	}
	e := svc.serverError(true)
	e.Message = err.Error()
	return e
}

// serverError is the service's 500 (internal) or 503 (unavailable) answer.
func (svc *service) serverError(internal bool) apiError {
	switch {
	case svc.proto == ec2Query && internal:
		return apiError{"InternalError", "An internal error has occurred", http.StatusInternalServerError}
	case svc.proto == ec2Query:
		return apiError{"Unavailable", "The server is overloaded and can't handle the request", http.StatusServiceUnavailable}
	case svc.proto == awsJSON && internal:
		return apiError{"InternalServerError", "Internal server error", http.StatusInternalServerError}
	case svc.proto == awsJSON:
		return apiError{"ServiceUnavailable", "The service is currently unavailable or busy.", http.StatusServiceUnavailable}
	case svc.proto == restXML && internal:
		return apiError{"InternalError", "We encountered an internal error. Please try again.", http.StatusInternalServerError}
	case internal:
		return apiError{"InternalFailure", "The request processing has failed because of an unknown error, exception or failure.", http.StatusInternalServerError}
	default:
		return apiError{"ServiceUnavailable", "The request has failed due to a temporary failure of the server.", http.StatusServiceUnavailable}
	}
}

// throttleError is the service's answer to a request over its rate.
func (svc *service) throttleError() apiError {
	switch svc.proto {
	case ec2Query:
		return apiError{"RequestLimitExceeded", "Request limit exceeded.", http.StatusServiceUnavailable}
	case restXML:
		return apiError{"SlowDown", "Please reduce your request rate.", http.StatusServiceUnavailable}
	case awsJSON:
		// DynamoDB's answer for an on-demand table over its throughput.
		return apiError{"ProvisionedThroughputExceededException",
			"Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly.",
			http.StatusBadRequest}
	default:
		return apiError{"Throttling", "Rate exceeded", http.StatusBadRequest}
	}
}

// errorBody encodes e in the protocol's error document.
func errorBody(proto protocol, e apiError, requestID string, extra map[string]string) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	el := func(name, text string) {
		b.WriteString("<" + name + ">")
		_ = xml.EscapeText(&b, []byte(text))
		b.WriteString("</" + name + ">")
	}
	switch proto {
	case ec2Query:
		b.WriteString("<Response><Errors><Error>")
		el("Code", e.Code)
		el("Message", e.Message)
		b.WriteString("</Error></Errors>")
		el("RequestID", requestID)
		b.WriteString("</Response>")
	case restXML:
		b.WriteString("<Error>")
		el("Code", e.Code)
		el("Message", e.Message)
		for _, k := range sortedKeys(extra) {
			el(k, extra[k])
		}
		el("RequestId", requestID)
		el("HostId", hostID(requestID))
		b.WriteString("</Error>")
	default:
		typ := "Sender"
		if e.Status >= 500 {
			typ = "Receiver"
		}
		b.WriteString("<ErrorResponse><Error>")
		el("Type", typ)
		el("Code", e.Code)
		el("Message", e.Message)
		b.WriteString("</Error>")
		el("RequestId", requestID)
		b.WriteString("</ErrorResponse>")
	}
	return b.Bytes()
}
