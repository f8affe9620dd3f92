package awssim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
)

// restJson1 as Security Hub speaks it: the operation is the HTTP method and
// path, input and output are JSON bodies with the SDK's member names (from
// the generated table), and an error is its code in X-Amzn-ErrorType with
// {"Code", "Message"} in the body.

// securityHubStatus holds the HTTP status of each Security Hub error
// (API reference, Errors of BatchUpdateFindings and BatchUpdateFindingsV2).
var securityHubStatus = map[string]int{
	"AccessDeniedException":     http.StatusForbidden,
	"ConflictException":         http.StatusConflict,
	"InternalException":         http.StatusInternalServerError,
	"InternalServerException":   http.StatusInternalServerError,
	"InvalidAccessException":    http.StatusUnauthorized,
	"InvalidInputException":     http.StatusBadRequest,
	"LimitExceededException":    http.StatusTooManyRequests,
	"ResourceNotFoundException": http.StatusNotFound,
	"ThrottlingException":       http.StatusTooManyRequests,
	"ValidationException":       http.StatusBadRequest,
	"SerializationException":    http.StatusBadRequest,
	"UnknownOperationException": http.StatusNotFound,
	"ServiceUnavailable":        http.StatusServiceUnavailable,
}

// securityHubService binds the awsapi.SecurityHub operations to backend.
// CSPM's BatchUpdateFindings throttles with LimitExceededException and fails
// with InternalException; the V2 operations use ThrottlingException and
// InternalServerException.
func securityHubService(backend awsapi.SecurityHub) (*service, error) {
	svc := &service{name: "securityhub", signing: "securityhub", proto: restJSON, status: securityHubStatus}
	if err := bind(svc, reflect.TypeFor[awsapi.SecurityHub](), backend); err != nil {
		return nil, err
	}
	for i := range securityHubOps {
		op := svc.ops[securityHubOps[i].Name]
		if op == nil {
			return nil, fmt.Errorf("securityhub:%s: bindings without an operation", securityHubOps[i].Name)
		}
		op.json = &securityHubOps[i]
		throttle, internal := "LimitExceededException", "InternalException"
		if op.name != "BatchUpdateFindings" {
			throttle, internal = "ThrottlingException", "InternalServerException"
		}
		op.throttle = &apiError{throttle, "Rate exceeded", http.StatusTooManyRequests}
		op.internal = &apiError{internal, "Internal service failure", http.StatusInternalServerError}
	}
	for _, op := range svc.ops {
		if op.json == nil {
			return nil, fmt.Errorf("%s: no HTTP bindings: regenerate the wire table", op.key)
		}
	}
	return svc, nil
}

// throttleError is the operation's answer to a request over its rate.
func (op *operation) throttleError() apiError {
	if op.throttle != nil {
		return *op.throttle
	}
	return op.svc.throttleError()
}

// serverError is the operation's 500 (internal) or 503 answer.
func (op *operation) serverError(internal bool) apiError {
	if internal && op.internal != nil {
		return *op.internal
	}
	return op.svc.serverError(internal)
}

func (s *Server) serveRestJSON(w http.ResponseWriter, r *http.Request, c caller, signing, reqID string) {
	start := time.Now()
	var svc *service
	if l := c.services[signing]; len(l) > 0 {
		svc = l[0]
	}
	if svc == nil {
		writeRestJSONError(w, apiError{"UnknownOperationException", "The service " + signing + " is not simulated", http.StatusNotFound}, reqID)
		return
	}
	var op *operation
	for _, o := range svc.ops {
		if o.json.Method == r.Method && o.json.Path == r.URL.Path {
			op = o
		}
	}
	if op == nil {
		writeRestJSONError(w, apiError{"UnknownOperationException", fmt.Sprintf("No operation at %s %s", r.Method, r.URL.Path), http.StatusNotFound}, reqID)
		return
	}
	status := http.StatusOK
	defer func() {
		s.log.Debug("aws request", "op", op.key, "status", status, "request_id", reqID, "duration", time.Since(start))
	}()
	fail := func(e apiError) {
		status = e.Status
		writeRestJSONError(w, e, reqID)
	}
	v := s.faults.decide(op, nil, c.account, attempt(r))
	if !sleep(r.Context(), v.delay) {
		return
	}
	if v.err != nil {
		fail(*v.err)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		fail(apiError{"SerializationException", "Reading the request body: " + err.Error(), http.StatusBadRequest})
		return
	}
	in := reflect.New(op.in)
	if err := decodeJSON(body, in); err != nil {
		fail(apiError{"SerializationException", err.Error(), http.StatusBadRequest})
		return
	}
	out, err := op.invoke(r.Context(), in.Interface())
	if err != nil {
		s.faults.countError(c.account, op.key)
		fail(svc.fromError(err))
		return
	}
	if v.lose {
		fail(op.serverError(true))
		return
	}
	doc, err := encodeJSON(reflect.ValueOf(out))
	if err != nil {
		fail(svc.fromError(err))
		return
	}
	b, err := json.Marshal(doc)
	if err != nil {
		fail(svc.fromError(err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-Requestid", reqID)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// writeRestJSONError answers a restJson1 error: its code in the
// X-Amzn-ErrorType header and the body.
func writeRestJSONError(w http.ResponseWriter, e apiError, reqID string) {
	b, _ := json.Marshal(map[string]string{"Code": e.Code, "Message": e.Message})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-Errortype", e.Code)
	h.Set("X-Amzn-Requestid", reqID)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}

// jsonNames maps each restJson1 shape's Go fields to member names.
var jsonNames = func() map[reflect.Type]map[string]string {
	m := map[reflect.Type]map[string]string{}
	for _, ws := range securityHubShapes {
		names := map[string]string{}
		for _, mem := range ws.Members {
			names[mem.Field] = mem.JSON
		}
		m[ws.Type] = names
	}
	return m
}()

// decodeJSON fills the struct dst points at from a JSON body. A member the
// table does not know is refused, so a wire name that drifts from the SDK's
// shows in the tests instead of being dropped.
func decodeJSON(body []byte, dst reflect.Value) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var raw any
	if err := d.Decode(&raw); err != nil {
		return fmt.Errorf("the request body is not JSON: %w", err)
	}
	return assignJSON(dst.Elem(), raw, dst.Elem().Type().Name())
}

func assignJSON(v reflect.Value, raw any, path string) error {
	if raw == nil {
		return nil
	}
	mismatch := func() error { return fmt.Errorf("%s: %T does not fit %s", path, raw, v.Type()) }
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := assignJSON(p.Elem(), raw, path); err != nil {
			return err
		}
		v.Set(p)
	case reflect.Struct:
		obj, ok := raw.(map[string]any)
		if !ok {
			return mismatch()
		}
		names, ok := jsonNames[v.Type()]
		if !ok {
			return fmt.Errorf("%s: %s is not in the wire table", path, v.Type())
		}
		byName := map[string]string{}
		for field, name := range names {
			byName[name] = field
		}
		for name, val := range obj {
			field, ok := byName[name]
			if !ok {
				return fmt.Errorf("%s: unknown member %q", path, name)
			}
			if err := assignJSON(v.FieldByName(field), val, path+"."+name); err != nil {
				return err
			}
		}
	case reflect.String:
		s, ok := raw.(string)
		if !ok {
			return mismatch()
		}
		v.SetString(s)
	case reflect.Bool:
		b, ok := raw.(bool)
		if !ok {
			return mismatch()
		}
		v.SetBool(b)
	case reflect.Int32, reflect.Int64:
		n, ok := raw.(json.Number)
		if !ok {
			return mismatch()
		}
		i, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil || v.OverflowInt(i) {
			return fmt.Errorf("%s: %s is not a %s", path, n, v.Type())
		}
		v.SetInt(i)
	case reflect.Float64:
		n, ok := raw.(json.Number)
		if !ok {
			return mismatch()
		}
		f, err := n.Float64()
		if err != nil {
			return fmt.Errorf("%s: %s is not a number", path, n)
		}
		v.SetFloat(f)
	case reflect.Slice:
		list, ok := raw.([]any)
		if !ok {
			return mismatch()
		}
		out := reflect.MakeSlice(v.Type(), len(list), len(list))
		for i, item := range list {
			if err := assignJSON(out.Index(i), item, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(out)
	case reflect.Map:
		obj, ok := raw.(map[string]any)
		if !ok || v.Type().Key().Kind() != reflect.String {
			return mismatch()
		}
		out := reflect.MakeMapWithSize(v.Type(), len(obj))
		for k, item := range obj {
			e := reflect.New(v.Type().Elem()).Elem()
			if err := assignJSON(e, item, path+"."+k); err != nil {
				return err
			}
			out.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), e)
		}
		v.Set(out)
	default:
		return fmt.Errorf("%s: %s is not modelled", path, v.Type())
	}
	return nil
}

var errOmit = errors.New("omitted")

// encodeJSON renders an SDK output as the document the SDK's deserializer
// reads: table member names, nil and empty members left out.
func encodeJSON(v reflect.Value) (any, error) {
	doc, err := jsonValue(v, v.Type().String())
	if errors.Is(err, errOmit) {
		return map[string]any{}, nil
	}
	return doc, err
}

func jsonValue(v reflect.Value, path string) (any, error) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, errOmit
		}
		return jsonValue(v.Elem(), path)
	case reflect.Struct:
		names, ok := jsonNames[v.Type()]
		if !ok {
			return nil, fmt.Errorf("%s: %s is not in the wire table", path, v.Type())
		}
		obj := map[string]any{}
		for field, name := range names {
			item, err := jsonValue(v.FieldByName(field), path+"."+field)
			if errors.Is(err, errOmit) {
				continue
			}
			if err != nil {
				return nil, err
			}
			obj[name] = item
		}
		return obj, nil
	case reflect.String:
		if v.Len() == 0 {
			return nil, errOmit
		}
		return v.String(), nil
	case reflect.Bool:
		return v.Bool(), nil
	case reflect.Int32, reflect.Int64:
		return v.Int(), nil
	case reflect.Float64:
		return v.Float(), nil
	case reflect.Slice:
		if v.IsNil() {
			return nil, errOmit
		}
		list := make([]any, 0, v.Len())
		for i := range v.Len() {
			item, err := element(v.Index(i), fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			list = append(list, item)
		}
		return list, nil
	case reflect.Map:
		if v.IsNil() {
			return nil, errOmit
		}
		obj := map[string]any{}
		for _, k := range v.MapKeys() {
			item, err := element(v.MapIndex(k), path+"."+k.String())
			if err != nil {
				return nil, err
			}
			obj[k.String()] = item
		}
		return obj, nil
	}
	return nil, fmt.Errorf("%s: %s is not modelled", path, v.Type())
}

// element renders a list item or map value, which is never left out: an
// empty string stays "" and a nil pointer null.
func element(v reflect.Value, path string) (any, error) {
	item, err := jsonValue(v, path)
	if errors.Is(err, errOmit) {
		if v.Kind() == reflect.String {
			return "", nil
		}
		return nil, nil
	}
	return item, err
}
