package awssim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbschemas "github.com/aws/aws-sdk-go-v2/service/dynamodb/schemas"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	smithy "github.com/aws/smithy-go"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
)

// DynamoDB speaks awsJson 1.0: POST / with X-Amz-Target
// DynamoDB_20120810.<Operation>, JSON bodies, errors as {"__type":
// "com.amazonaws.dynamodb.v20120810#<Code>", "message": ...}. Inputs are
// decoded through the SDK's schemas (and its AttributeValue union), outputs
// and modelled errors serialize themselves.
const (
	dynamoTarget    = "DynamoDB_20120810"
	dynamoNamespace = "com.amazonaws.dynamodb.v20120810"
)

func dynamoService(b Backend, codec *reflectCodec) (*service, error) {
	svc := &service{name: "dynamodb", signing: "dynamodb", proto: awsJSON, version: ddbschemas.DynamoDB_20120810.Version,
		status: queryErrorStatus(dynamodb.TypeRegistry)}
	svc.status["InternalServerError"] = http.StatusInternalServerError
	if err := bind(svc, reflect.TypeFor[awsapi.DynamoDB](), b.DynamoDB); err != nil {
		return nil, err
	}
	codec.addUnion(reflect.TypeFor[ddbtypes.AttributeValue](), map[*smithy.Schema]func() smithy.Deserializable{
		ddbschemas.AttributeValue_S:    func() smithy.Deserializable { return &ddbtypes.AttributeValueMemberS{} },
		ddbschemas.AttributeValue_N:    func() smithy.Deserializable { return &ddbtypes.AttributeValueMemberN{} },
		ddbschemas.AttributeValue_B:    func() smithy.Deserializable { return &ddbtypes.AttributeValueMemberB{} },
		ddbschemas.AttributeValue_SS:   func() smithy.Deserializable { return &ddbtypes.AttributeValueMemberSS{} },
		ddbschemas.AttributeValue_NS:   func() smithy.Deserializable { return &ddbtypes.AttributeValueMemberNS{} },
		ddbschemas.AttributeValue_BS:   func() smithy.Deserializable { return &ddbtypes.AttributeValueMemberBS{} },
		ddbschemas.AttributeValue_M:    func() smithy.Deserializable { return &ddbtypes.AttributeValueMemberM{} },
		ddbschemas.AttributeValue_L:    func() smithy.Deserializable { return &ddbtypes.AttributeValueMemberL{} },
		ddbschemas.AttributeValue_NULL: func() smithy.Deserializable { return &ddbtypes.AttributeValueMemberNULL{} },
		ddbschemas.AttributeValue_BOOL: func() smithy.Deserializable { return &ddbtypes.AttributeValueMemberBOOL{} },
	})
	for _, op := range svc.ops {
		in, ok := reflect.New(op.in).Interface().(smithy.Serializable)
		if !ok {
			return nil, fmt.Errorf("%s: %s has no schema", op.key, op.in)
		}
		if err := codec.addSDK(op.in, schemaOf(in)); err != nil {
			return nil, fmt.Errorf("%s: %w", op.key, err)
		}
		if _, ok := reflect.New(op.out).Interface().(smithy.Serializable); !ok {
			return nil, fmt.Errorf("%s: %s cannot serialize itself", op.key, op.out)
		}
	}
	return svc, nil
}

// serveJSON serves one awsJson request.
func (s *Server) serveJSON(w http.ResponseWriter, r *http.Request, c caller, signing, target, reqID string) {
	start := time.Now()
	var svc *service
	if set := c.services[signing]; len(set) == 1 && set[0].proto == awsJSON {
		svc = set[0]
	}
	prefix, action, _ := strings.Cut(target, ".")
	if svc == nil || prefix != dynamoTarget {
		writeJSONError(w, apiError{"UnknownOperationException", "", http.StatusBadRequest}, nil, reqID)
		return
	}
	op := svc.ops[action]
	if op == nil {
		writeJSONError(w, apiError{"UnknownOperationException", "", http.StatusBadRequest}, nil, reqID)
		return
	}
	status := http.StatusOK
	defer func() {
		s.log.Debug("aws request", "op", op.key, "status", status, "request_id", reqID, "duration", time.Since(start))
	}()
	v := s.faults.decide(op, nil, c.account, attempt(r))
	if !sleep(r.Context(), v.delay) {
		return
	}
	if v.err != nil {
		status = v.err.Status
		writeJSONError(w, *v.err, nil, reqID)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	var dec *jsonDecoder
	if err == nil {
		dec, err = newJSONDecoder(body)
	}
	in := reflect.New(op.in).Interface()
	if err == nil {
		err = s.codec.decode(dec, in)
	}
	if err != nil {
		status = http.StatusBadRequest
		writeJSONError(w, apiError{"SerializationException", err.Error(), status}, nil, reqID)
		return
	}
	out, err := op.invoke(r.Context(), in)
	if err != nil {
		s.faults.countError(c.account, op.key)
		e := svc.fromError(err)
		status = e.Status
		writeJSONError(w, e, err, reqID)
		return
	}
	if v.lose {
		e := svc.serverError(true)
		status = e.Status
		writeJSONError(w, e, nil, reqID)
		return
	}
	enc := &jsonEncoder{}
	if sz, ok := out.(smithy.Serializable); ok && !isNil(out) {
		sz.Serialize(enc)
	}
	payload := enc.Bytes()
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	writeJSON(w, http.StatusOK, payload, reqID)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func writeJSON(w http.ResponseWriter, status int, body []byte, reqID string) {
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("X-Amzn-Requestid", reqID)
	// DynamoDB signs every answer with its CRC32, which the SDK checks.
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeJSONError answers e; a modelled error (cause) keeps its members, such
// as the item a failed condition returns.
func writeJSONError(w http.ResponseWriter, e apiError, cause error, reqID string) {
	typ := jsonString(dynamoNamespace + "#" + e.Code)
	body := []byte(`{"__type":` + typ + `}`)
	if e.Message != "" {
		body = []byte(`{"__type":` + typ + `,"message":` + jsonString(e.Message) + `}`)
	}
	var modelled interface {
		smithy.Serializable
		ErrorCode() string
	}
	if errors.As(cause, &modelled) && modelled.ErrorCode() == e.Code {
		enc := &jsonEncoder{}
		modelled.Serialize(enc)
		if b := enc.Bytes(); len(b) > 2 {
			body = append(append([]byte(`{"__type":`+typ+`,`), b[1:len(b)-1]...), '}')
		}
	}
	writeJSON(w, e.Status, bytes.TrimSpace(body), reqID)
}
