package awssim

import "reflect"

//go:generate go run ./gen -o wire_gen.go

// wireShape gives the wire names of one SDK struct's fields, for services
// whose SDK has no runtime schemas yet (see gen).
type wireShape struct {
	Type    reflect.Type
	Members []wireMember
}

// wireMember is one field's names: Query is the EC2 query key in requests,
// XML the element in responses, Item the element wrapping each list item,
// JSON the member name in restJson1 bodies (both directions).
type wireMember struct {
	Field, Query, XML, Item string
	Flat                    bool
	Time                    string
	JSON                    string
}

// jsonOp is a restJson1 operation whose input and output are all in the
// JSON body.
type jsonOp struct {
	Name, Method, Path string
	Input, Output      reflect.Type
}

// restOp is a REST-XML operation's HTTP bindings.
type restOp struct {
	Name, Method, Path, Query, Payload string
	// OutPayload is the output field streamed as the response body;
	// OutXML says the response body is an XML document (s3Shapes).
	OutPayload    string
	OutXML        bool
	Input, Output reflect.Type
	In, Out       []httpBinding
}

// httpBinding binds a field to a header, a header prefix (a map), a URI
// label or a query parameter.
type httpBinding struct {
	Field, Header, Prefix, Label, Query, Time string
}
