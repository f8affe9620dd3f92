package handler_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/config"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/handler"
	"github.com/firebreak-ir/firebreak/internal/notify"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// The sample events' account, Region and the instance most of them name.
const (
	account      = "123456789012"
	otherAccount = "210987654321"
	region       = "us-east-1"
	victim       = "i-0abc1234def567890"
	backdoorID   = "411647294fc69b66beba1f3f7bbbc43d"
)

// env is one fake AWS account seeded with the demo world and a handler over it.
type env struct {
	t   *testing.T
	w   *awsfake.World
	d   awsfake.Demo
	cfg config.Config
	h   *handler.Handler
}

// newEnv seeds the demo world around victimID and builds the handler the way
// the demo does. The configuration is read by config.FromEnv so that its
// defaults (contain from 7, notify from 4, sg isolation) are the real ones;
// vars overrides FIREBREAK_* settings.
func newEnv(t *testing.T, victimID string, vars map[string]string) *env {
	t.Helper()
	w := awsfake.New(account, region)
	d := w.SeedDemo(victimID)
	get := map[string]string{contract.EnvTopicARN: d.Topic, contract.EnvEvidenceBucket: d.Bucket, contract.EnvGuardTable: d.GuardTable}
	maps.Copy(get, vars)
	cfg, err := config.FromEnv(func(k string) string { return get[k] })
	if err != nil {
		t.Fatalf("reading configuration: %v", err)
	}
	e := &env{t: t, w: w, d: d, cfg: cfg}
	e.h = e.newHandler()
	return e
}

// newHandler is a fresh handler over the same world: a cold Lambda container.
func (e *env) newHandler() *handler.Handler {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return handler.New(e.cfg, awsfake.Factory{W: e.w}, log, handler.WithClock(e.w.Now))
}

// delivery is what one Handle call did: its result, the AWS calls it made and
// the messages it published.
type delivery struct {
	reports []*report.Report
	err     error
	// calls are the AWS calls but those on Firebreak's own table (ledger).
	calls     map[string]int
	ledger    map[string]int
	published []awsfake.Message
}

func (e *env) handle(raw []byte) delivery {
	return e.handleWith(e.h, raw)
}

func (e *env) handleWith(h *handler.Handler, raw []byte) delivery {
	e.t.Helper()
	before, sent := e.w.Calls(), len(e.w.Published())
	reps, err := h.Handle(context.Background(), raw)
	after := e.w.Calls()
	for op, n := range before {
		after[op] -= n
		if after[op] == 0 {
			delete(after, op)
		}
	}
	// Firebreak's own table is not what it protects: its calls are apart.
	ledger := map[string]int{}
	for _, op := range ledgerOps {
		if n := after[op]; n > 0 {
			ledger[op] = n
			delete(after, op)
		}
	}
	return delivery{reports: reps, err: err, calls: after, ledger: ledger, published: e.w.Published()[sent:]}
}

// ledgerOps are the DynamoDB operations on Firebreak's own table.
var ledgerOps = []string{"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"}

// ledgerWrites counts a delivery's writes to Firebreak's table.
func (dl delivery) ledgerWrites() int {
	return dl.ledger["PutItem"] + dl.ledger["UpdateItem"] + dl.ledger["DeleteItem"]
}

// only returns the single report of a delivery.
func (dl delivery) only(t *testing.T) *report.Report {
	t.Helper()
	if len(dl.reports) != 1 || dl.reports[0] == nil {
		t.Fatalf("want exactly one report, got %d (error %v)", len(dl.reports), dl.err)
	}
	return dl.reports[0]
}

// mutating lists the calls of a delivery that can change AWS state: anything
// but Describe*, Get*, List* and, when allowed, SNS Publish.
func (dl delivery) mutating(allowPublish bool) []string {
	var out []string
	for op := range dl.calls {
		switch {
		case strings.HasPrefix(op, "Describe"), strings.HasPrefix(op, "Get"), strings.HasPrefix(op, "List"):
		case op == "Publish" && allowPublish:
		default:
			out = append(out, op)
		}
	}
	slices.Sort(out)
	return out
}

// state is everything containment could change in the demo world (no counted
// calls), SNS messages aside.
func (e *env) state() map[string]string {
	st := e.w.State(e.d)
	// A notification is not a change to what Firebreak protects.
	delete(st, "published")
	return st
}

// unchanged fails the test for every part of the world that differs from before.
func (e *env) unchanged(before map[string]string) {
	e.t.Helper()
	after := e.state()
	for _, k := range slices.Sorted(maps.Keys(before)) {
		if before[k] != after[k] {
			e.t.Errorf("%s changed:\n before %s\n after  %s", k, before[k], after[k])
		}
	}
}

// tag returns the value of an instance tag, "" when absent.
func (e *env) tag(instanceID, key string) string {
	for _, t := range e.w.Instance(instanceID).Tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// setTag writes a tag the way an operator would, outside any measured delivery.
func (e *env) setTag(instanceID, key, value string) {
	e.t.Helper()
	_, err := e.w.Clients().EC2.CreateTags(context.Background(), &ec2.CreateTagsInput{
		Resources: []string{instanceID}, Tags: []ec2types.Tag{{Key: aws.String(key), Value: aws.String(value)}}})
	if err != nil {
		e.t.Fatalf("tagging %s: %v", instanceID, err)
	}
}

// contained checks the world after a real containment of instanceID: every
// interface in the empty isolation group only, the status tag, termination
// protection, out of the Auto Scaling group and the load balancers.
func (e *env) contained(instanceID, findingID string) {
	e.t.Helper()
	iso := e.groupByName("firebreak-isolation")
	if rules := e.w.SecurityGroupRules(iso); len(rules) != 0 {
		e.t.Errorf("isolation group %s has %d rules, want none", iso, len(rules))
	}
	for _, ni := range e.w.Instance(instanceID).NetworkInterfaces {
		var groups []string
		for _, g := range ni.Groups {
			groups = append(groups, aws.ToString(g.GroupId))
		}
		if !slices.Equal(groups, []string{iso}) {
			e.t.Errorf("%s groups = %v, want only the isolation group %s", aws.ToString(ni.NetworkInterfaceId), groups, iso)
		}
	}
	if got := e.tag(instanceID, contract.TagStatus); got != contract.StatusContained {
		e.t.Errorf("%s = %q, want %q", contract.TagStatus, got, contract.StatusContained)
	}
	if got := e.tag(instanceID, contract.TagFindingID); got != findingID {
		e.t.Errorf("%s = %q, want %q", contract.TagFindingID, got, findingID)
	}
	if !e.w.InstanceAttributes(instanceID).DisableAPITermination {
		e.t.Errorf("termination protection of %s is off", instanceID)
	}
	for _, in := range e.w.AutoScalingGroup(e.d.ASG).Instances {
		if aws.ToString(in.InstanceId) == instanceID {
			e.t.Errorf("%s is still in %s (%s)", instanceID, e.d.ASG, in.LifecycleState)
		}
	}
	if slices.Contains(e.w.ClassicLBInstances(e.d.ClassicLB), instanceID) {
		e.t.Errorf("%s is still registered with %s", instanceID, e.d.ClassicLB)
	}
}

// groupByName finds a security group of the demo VPC by name.
func (e *env) groupByName(name string) string {
	e.t.Helper()
	out, err := e.w.Clients().EC2.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{})
	if err != nil {
		e.t.Fatalf("listing security groups: %v", err)
	}
	for _, sg := range out.SecurityGroups {
		if aws.ToString(sg.GroupName) == name && aws.ToString(sg.VpcId) == e.d.VPC {
			return aws.ToString(sg.GroupId)
		}
	}
	e.t.Fatalf("no security group %q in %s", name, e.d.VPC)
	return ""
}

// snapshotsOf lists the snapshots Firebreak took of an instance.
func (e *env) snapshotsOf(instanceID string) []string {
	var ids []string
	for _, s := range e.w.Snapshots() {
		for _, t := range s.Tags {
			if aws.ToString(t.Key) == contract.TagInstanceID && aws.ToString(t.Value) == instanceID {
				ids = append(ids, aws.ToString(s.SnapshotId))
			}
		}
	}
	return ids
}

// object returns the stored object at key in the evidence bucket.
func (e *env) object(key string) (awsfake.Object, bool) {
	for _, o := range e.w.Objects() {
		if o.Bucket == e.d.Bucket && o.Key == key {
			return o, true
		}
	}
	return awsfake.Object{}, false
}

// checkMessage applies SNS's rules and Firebreak's contract to one publication:
// an ASCII subject under 100 characters without line breaks, the topic, the
// filter attributes, and a body whose JSON part is the report.
func checkMessage(t *testing.T, m awsfake.Message, topic string, rep *report.Report) {
	t.Helper()
	if m.TopicARN != topic {
		t.Errorf("published to %q, want %q", m.TopicARN, topic)
	}
	if len(m.Subject) == 0 || len(m.Subject) >= 100 {
		t.Errorf("subject %q has %d characters, want 1-99", m.Subject, len(m.Subject))
	}
	for _, r := range m.Subject {
		if r > unicode.MaxASCII || unicode.IsControl(r) {
			t.Errorf("subject %q has %q: SNS wants printable ASCII", m.Subject, r)
			break
		}
	}
	if got := attr(m, notify.AttrDecision); got != string(rep.Decision) {
		t.Errorf("attribute %s = %q, want %q", notify.AttrDecision, got, rep.Decision)
	}
	if rep.Finding != nil {
		if got := attr(m, notify.AttrFindingType); got != rep.Finding.Type {
			t.Errorf("attribute %s = %q, want %q", notify.AttrFindingType, got, rep.Finding.Type)
		}
		if v := m.Attributes[notify.AttrSeverity]; aws.ToString(v.DataType) != "Number" {
			t.Errorf("attribute %s has data type %q, want Number", notify.AttrSeverity, aws.ToString(v.DataType))
		}
	}
	_, js, ok := strings.Cut(m.Body, notify.Separator)
	if !ok {
		t.Fatalf("message body has no %q line:\n%s", notify.Separator, m.Body)
	}
	var got, want any
	if err := json.Unmarshal([]byte(js), &got); err != nil {
		t.Fatalf("report JSON in the message does not decode: %v", err)
	}
	b, _ := json.Marshal(rep)
	_ = json.Unmarshal(b, &want)
	if !jsonEqual(got, want) {
		t.Errorf("published report differs from the returned one:\n published %s\n returned  %s", js, b)
	}
}

func attr(m awsfake.Message, name string) string {
	return aws.ToString(m.Attributes[name].StringValue)
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// edit returns a copy of a sample event with changes made to its decoded form.
func edit(t *testing.T, name string, change func(ev map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(events.Must(name))))
	dec.UseNumber()
	var ev map[string]any
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
	change(ev)
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("encoding %s: %v", name, err)
	}
	return b
}

// awsError is an AWS error as the SDK returns it.
func awsError(code, msg string) error {
	return &smithy.GenericAPIError{Code: code, Message: msg, Fault: smithy.FaultClient}
}

// errorCode is the AWS error code inside err, "" when there is none.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// verifyReads are what an event for a contained instance costs when nothing
// drifted: the instance, the isolation groups' rules and the termination
// protection, read at once.
var verifyReads = map[string]int{"DescribeInstances": 1, "DescribeSecurityGroups": 1, "DescribeInstanceAttribute": 1}
