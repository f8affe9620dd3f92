package awssim

import (
	"context"
	"fmt"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asschemas "github.com/aws/aws-sdk-go-v2/service/autoscaling/schemas"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbschemas "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/schemas"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2schemas "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/schemas"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamschemas "github.com/aws/aws-sdk-go-v2/service/iam/schemas"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snsschemas "github.com/aws/aws-sdk-go-v2/service/sns/schemas"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	stsschemas "github.com/aws/aws-sdk-go-v2/service/sts/schemas"
	smithy "github.com/aws/smithy-go"
	"github.com/aws/smithy-go/traits"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
)

// protocol is an AWS wire protocol.
type protocol int

const (
	ec2Query protocol = iota
	awsQuery
	restXML
	awsJSON
	restJSON
)

// service is one simulated AWS API.
type service struct {
	// name prefixes operation names in faults and stats ("ec2",
	// "elasticloadbalancingv2", ...); signing is the SigV4 scope name.
	name, signing string
	proto         protocol
	version       string
	xmlns         string
	// status maps modelled error codes to their HTTP status.
	status map[string]int
	ops    map[string]*operation
}

// operation is one API action bound to the backend method that serves it.
type operation struct {
	svc     *service
	name    string
	key     string // "ec2:DescribeInstances"
	in, out reflect.Type
	call    reflect.Value // the backend's method
	rest    *restOp       // REST-XML bindings (S3)
	json    *jsonOp       // restJson1 bindings (Security Hub)
	// throttle and internal replace the service's answers to a request over
	// its rate and to a server fault, where they differ per operation.
	throttle, internal *apiError
}

// invoke calls the backend with a decoded input (a pointer to op.in).
func (op *operation) invoke(ctx context.Context, in any) (any, error) {
	res := op.call.Call([]reflect.Value{reflect.ValueOf(ctx), reflect.ValueOf(in)})
	if err, _ := res[1].Interface().(error); err != nil {
		return nil, err
	}
	return res[0].Interface(), nil
}

// schemaService describes a service whose SDK package carries runtime
// schemas: its inputs and outputs (de)serialize themselves.
type schemaService struct {
	name, signing string
	api           reflect.Type
	schema        *smithy.ServiceSchema
	registry      *smithy.TypeRegistry
	client        func(Backend) any
}

var schemaServices = []schemaService{
	{"autoscaling", "autoscaling", reflect.TypeFor[awsapi.AutoScaling](), asschemas.AutoScaling_2011_01_01, autoscaling.TypeRegistry, func(b Backend) any { return b.AutoScaling }},
	{"elasticloadbalancing", "elasticloadbalancing", reflect.TypeFor[awsapi.ELB](), elbschemas.ElasticLoadBalancing_v7, elb.TypeRegistry, func(b Backend) any { return b.ELB }},
	{"elasticloadbalancingv2", "elasticloadbalancing", reflect.TypeFor[awsapi.ELBV2](), elbv2schemas.ElasticLoadBalancing_v10, elbv2.TypeRegistry, func(b Backend) any { return b.ELBV2 }},
	{"sns", "sns", reflect.TypeFor[awsapi.SNS](), snsschemas.AmazonSimpleNotificationService, sns.TypeRegistry, func(b Backend) any { return b.SNS }},
	{"sts", "sts", reflect.TypeFor[awsapi.STS](), stsschemas.AWSSecurityTokenServiceV20110615, sts.TypeRegistry, func(b Backend) any { return b.STS }},
	{"iam", "iam", reflect.TypeFor[awsapi.IAM](), iamschemas.AWSIdentityManagementV20100508, iam.TypeRegistry, func(b Backend) any { return b.IAM }},
}

// buildServices binds every operation of the awsapi interfaces to the
// backend. Services whose backend client is nil are left out.
func buildServices(b Backend, codec *reflectCodec) ([]*service, error) {
	var out []*service
	if !isNil(b.EC2) {
		svc := &service{name: "ec2", signing: "ec2", proto: ec2Query, version: ec2Version,
			xmlns: "http://ec2.amazonaws.com/doc/" + ec2Version + "/", status: ec2Status}
		if err := bind(svc, reflect.TypeFor[awsapi.EC2](), b.EC2); err != nil {
			return nil, err
		}
		out = append(out, svc)
	}
	for _, ss := range schemaServices {
		client := ss.client(b)
		if isNil(client) {
			continue
		}
		svc := &service{name: ss.name, signing: ss.signing, proto: awsQuery, version: ss.schema.Version,
			status: queryErrorStatus(ss.registry)}
		if t, ok := smithy.SchemaTrait[*traits.XMLNamespace](ss.schema.Schema); ok {
			svc.xmlns = t.URI
		}
		if err := bind(svc, ss.api, client); err != nil {
			return nil, err
		}
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
		out = append(out, svc)
	}
	if !isNil(b.DynamoDB) {
		svc, err := dynamoService(b, codec)
		if err != nil {
			return nil, err
		}
		out = append(out, svc)
	}
	if !isNil(b.S3) {
		svc := &service{name: "s3", signing: "s3", proto: restXML, status: s3Status}
		if err := bind(svc, reflect.TypeFor[awsapi.S3](), b.S3); err != nil {
			return nil, err
		}
		for i := range s3Ops {
			op := svc.ops[s3Ops[i].Name]
			if op == nil {
				return nil, fmt.Errorf("s3:%s: bindings without an operation", s3Ops[i].Name)
			}
			op.rest = &s3Ops[i]
		}
		for _, op := range svc.ops {
			if op.rest == nil {
				return nil, fmt.Errorf("%s: no HTTP bindings: regenerate the wire table", op.key)
			}
		}
		out = append(out, svc)
	}
	if !isNil(b.SecurityHub) {
		svc, err := securityHubService(b.SecurityHub)
		if err != nil {
			return nil, err
		}
		out = append(out, svc)
	}
	return out, nil
}

// bind registers every method of the interface api, served by client.
func bind(svc *service, api reflect.Type, client any) error {
	svc.ops = map[string]*operation{}
	cv := reflect.ValueOf(client)
	for i := range api.NumMethod() {
		m := api.Method(i)
		if m.Type.NumIn() < 2 || m.Type.NumOut() != 2 {
			return fmt.Errorf("%s.%s: not an SDK operation signature", api, m.Name)
		}
		svc.ops[m.Name] = &operation{
			svc:  svc,
			name: m.Name,
			key:  svc.name + ":" + m.Name,
			in:   m.Type.In(1).Elem(),
			out:  m.Type.Out(0).Elem(),
			call: cv.MethodByName(m.Name),
		}
	}
	return nil
}

// queryErrorStatus reads the HTTP status of every modelled error from the
// SDK's schemas: the awsQueryError code and the shape name both resolve.
func queryErrorStatus(reg *smithy.TypeRegistry) map[string]int {
	status := map[string]int{}
	for _, e := range reg.Entries {
		code := 400
		if t, ok := smithy.SchemaTrait[*traits.HTTPError](e.Schema); ok && t.Code != 0 {
			code = t.Code
		}
		if t, ok := smithy.SchemaTrait[*traits.AWSQueryError](e.Schema); ok {
			if t.StatusCode != 0 {
				code = t.StatusCode
			}
			status[t.ErrorCode] = code
		}
		status[e.Schema.ID().Name] = code
	}
	return status
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		return rv.IsNil()
	}
	return false
}
