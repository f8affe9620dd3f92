package e2e_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/firebreak-ir/firebreak/events"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/report"
)

// TestDriftIsRepairedByTheBinary: the real function, through the emulator and
// the simulator. A rule added to the isolation group is found and revoked by
// the finding's re-publication, which publishes DRIFT REPAIRED; termination
// protection turned off is found by {"sweep": true}; a second sweep finds
// nothing and publishes nothing.
func TestDriftIsRepairedByTheBinary(t *testing.T) {
	t.Parallel()
	e := start(t, setup{})
	e.mustInvoke(e.f, events.Must("guardduty-backdoor-c2.json"))
	e.contained(backdoorID)
	ctx := context.Background()
	api := e.w.AWS.Clients().EC2
	groups, err := api.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("group-name"), Values: []string{contract.IsolationGroupName}}}})
	if err != nil || len(groups.SecurityGroups) != 1 {
		t.Fatalf("isolation group: %v", err)
	}
	iso := aws.ToString(groups.SecurityGroups[0].GroupId)
	if _, err := api.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(iso),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}); err != nil {
		t.Fatal(err)
	}
	sent := len(e.w.AWS.Published())

	rep := e.mustInvoke(e.f, events.Must("guardduty-backdoor-c2-update.json"))
	if !rep.AlreadyContained || !strings.Contains(strings.Join(rep.Drift, ";"), "allows ingress tcp 22-22 0.0.0.0/0") {
		t.Fatalf("re-publication after the rule: already contained %v, drift %v", rep.AlreadyContained, rep.Drift)
	}
	if msgs := e.published(sent); len(msgs) != 1 || !strings.HasPrefix(msgs[0].Subject, "Firebreak DRIFT REPAIRED "+victim) {
		t.Errorf("published %+v, want one DRIFT REPAIRED report", msgs)
	}
	if rules := e.w.AWS.SecurityGroupRules(iso); len(rules) != 0 {
		t.Errorf("isolation group still has %v", rules)
	}

	if _, err := api.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String(victim),
		DisableApiTermination: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	sent = len(e.w.AWS.Published())
	body, err := e.invoke(e.f, []byte(`{"sweep": true}`))
	var reps []report.Report
	if err != nil || json.Unmarshal(body, &reps) != nil || len(reps) != 2 {
		t.Fatalf("sweep: %v, %s; want the summary and one drift report", err, body)
	}
	if s := reps[0].Sweep; s == nil || s.Verified != 1 || s.Drifted != 1 || !strings.Contains(strings.Join(reps[1].Drift, ";"), "termination protection turned off") {
		t.Errorf("sweep summary %+v, drift %v", reps[0].Sweep, reps[1].Drift)
	}
	if !e.w.AWS.InstanceAttributes(victim).DisableAPITermination {
		t.Error("termination protection still off after the sweep")
	}
	if msgs := e.published(sent); len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "DRIFT REPAIRED") {
		t.Errorf("the sweep published %+v, want one DRIFT REPAIRED report", msgs)
	}

	sent = len(e.w.AWS.Published())
	e.w.Sim.ResetStats()
	quiet := e.mustInvoke(e.f, []byte(`{"sweep": true}`))
	if quiet.Sweep == nil || quiet.Sweep.Verified != 1 || quiet.Sweep.Drifted != 0 || len(e.published(sent)) != 0 || len(mutating(e.w.Sim.Stats())) > 0 {
		t.Errorf("second sweep: %+v, %d published, calls %v; want quiet", quiet.Sweep, len(e.published(sent)), e.w.Sim.Stats())
	}
	e.contained(backdoorID)
}
