package awsfake_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
)

func TestDescribeTargetGroupsPaginator(t *testing.T) {
	w, d, c := demo(t)
	for i := range 3 {
		w.AddTargetGroup(fmt.Sprintf("extra-%d", i), elbv2types.TargetTypeEnumInstance, 80, d.VPC)
	}
	p := elbv2.NewDescribeTargetGroupsPaginator(c.ELBV2, &elbv2.DescribeTargetGroupsInput{PageSize: aws.Int32(2)})
	byType := map[elbv2types.TargetTypeEnum]int{}
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, tg := range out.TargetGroups {
			byType[tg.TargetType]++
		}
	}
	if pages != 3 || byType[elbv2types.TargetTypeEnumInstance] != 4 || byType[elbv2types.TargetTypeEnumIp] != 1 || byType[elbv2types.TargetTypeEnumLambda] != 1 {
		t.Fatalf("%d pages, by type %v", pages, byType)
	}
	_, err := c.ELBV2.DescribeTargetGroups(context.Background(), &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{d.TargetGroup + "x"}})
	wantCode(t, err, "TargetGroupNotFound")
}

func TestDescribeTargetHealth(t *testing.T) {
	_, d, c := demo(t)
	out, err := c.ELBV2.DescribeTargetHealth(context.Background(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(d.IPTargetGroup)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, th := range out.TargetHealthDescriptions {
		got[*th.Target.Id] = fmt.Sprintf("%d %s %s", *th.Target.Port, aws.ToString(th.Target.AvailabilityZone), th.TargetHealth.State)
	}
	want := map[string]string{d.VictimPrimaryIP: "8443 us-east-1a healthy", d.BystanderIP: "443 us-east-1a healthy"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("targets = %v, want %v", got, want)
	}
	out, err = c.ELBV2.DescribeTargetHealth(context.Background(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(d.TargetGroup),
		Targets: []elbv2types.TargetDescription{{Id: aws.String(d.Victim), Port: aws.Int32(8080)}}})
	if err != nil || out.TargetHealthDescriptions[0].TargetHealth.State != elbv2types.TargetHealthStateEnumUnused {
		t.Fatalf("unregistered port: %v %+v", err, out)
	}
	_, err = c.ELBV2.DescribeTargetHealth(context.Background(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/1")})
	wantCode(t, err, "TargetGroupNotFound")
}

func TestDeregisterTargets(t *testing.T) {
	tests := []struct {
		name    string
		tg      func(d awsfake.Demo) string
		targets func(d awsfake.Demo) []elbv2types.TargetDescription
		wantErr string
		// the victim's state afterwards in that group ("" for gone)
		want elbv2types.TargetHealthStateEnum
	}{
		{"instance target drains", func(d awsfake.Demo) string { return d.TargetGroup },
			func(d awsfake.Demo) []elbv2types.TargetDescription {
				return []elbv2types.TargetDescription{{Id: aws.String(d.Victim)}}
			},
			"", elbv2types.TargetHealthStateEnumDraining},
		{"ip target without its port override matches nothing", func(d awsfake.Demo) string { return d.IPTargetGroup },
			func(d awsfake.Demo) []elbv2types.TargetDescription {
				return []elbv2types.TargetDescription{{Id: aws.String(d.VictimPrimaryIP)}}
			}, "", elbv2types.TargetHealthStateEnumHealthy},
		{"ip target with its port override drains", func(d awsfake.Demo) string { return d.IPTargetGroup },
			func(d awsfake.Demo) []elbv2types.TargetDescription {
				return []elbv2types.TargetDescription{{Id: aws.String(d.VictimPrimaryIP), Port: aws.Int32(8443)}}
			}, "", elbv2types.TargetHealthStateEnumDraining},
		{"unknown target group", func(d awsfake.Demo) string { return d.TargetGroup + "0" },
			func(d awsfake.Demo) []elbv2types.TargetDescription {
				return []elbv2types.TargetDescription{{Id: aws.String(d.Victim)}}
			},
			"TargetGroupNotFound", elbv2types.TargetHealthStateEnumHealthy},
		{"not an instance id", func(d awsfake.Demo) string { return d.TargetGroup },
			func(awsfake.Demo) []elbv2types.TargetDescription {
				return []elbv2types.TargetDescription{{Id: aws.String("10.0.1.10")}}
			},
			"InvalidTarget", elbv2types.TargetHealthStateEnumHealthy},
		{"not an IP", func(d awsfake.Demo) string { return d.IPTargetGroup },
			func(d awsfake.Demo) []elbv2types.TargetDescription {
				return []elbv2types.TargetDescription{{Id: aws.String(d.Victim)}}
			},
			"InvalidTarget", elbv2types.TargetHealthStateEnumHealthy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, d, c := demo(t)
			_, err := c.ELBV2.DeregisterTargets(context.Background(), &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(tc.tg(d)), Targets: tc.targets(d)})
			wantCode(t, err, tc.wantErr)
			group := d.TargetGroup
			if tc.tg(d) == d.IPTargetGroup {
				group = d.IPTargetGroup
			}
			if got := targetState(w, group, d); got != tc.want {
				t.Errorf("victim is %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDrainingTargetsDisappearAfterTheDelay(t *testing.T) {
	w, d, c := demo(t)
	_, err := c.ELBV2.DeregisterTargets(context.Background(), &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(d.IPTargetGroup),
		Targets: []elbv2types.TargetDescription{{Id: aws.String(d.VictimPrimaryIP), Port: aws.Int32(8443)}}})
	if err != nil {
		t.Fatal(err)
	}
	w.Advance(awsfake.DeregistrationDelay - 1)
	if got := targetState(w, d.IPTargetGroup, d); got != elbv2types.TargetHealthStateEnumDraining {
		t.Fatalf("before the delay: %q", got)
	}
	w.Advance(1)
	out, err := c.ELBV2.DescribeTargetHealth(context.Background(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(d.IPTargetGroup)})
	if err != nil || len(out.TargetHealthDescriptions) != 1 || *out.TargetHealthDescriptions[0].Target.Id != d.BystanderIP {
		t.Fatalf("after the delay: %v %+v", err, out)
	}
}

// targetState is the victim's (or its primary IP's) state in a group, "" when absent.
func targetState(w *awsfake.World, tg string, d awsfake.Demo) elbv2types.TargetHealthStateEnum {
	for _, th := range w.Targets(tg) {
		if id := *th.Target.Id; id == d.Victim || id == d.VictimPrimaryIP {
			return th.TargetHealth.State
		}
	}
	return ""
}

// Without PageSize, AWS returns 400 target groups a page: a caller that
// ignores the marker misses the rest.
func TestDescribeTargetGroupsDefaultPage(t *testing.T) {
	w := awsfake.New("123456789012", "us-east-1")
	vpc := w.AddVPC("10.0.0.0/16", false)
	for i := range 401 {
		w.AddTargetGroup(fmt.Sprintf("tg-%d", i), elbv2types.TargetTypeEnumInstance, 80, vpc)
	}
	out, err := w.Clients().ELBV2.DescribeTargetGroups(context.Background(), &elbv2.DescribeTargetGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.TargetGroups) != 400 || out.NextMarker == nil {
		t.Fatalf("first page: %d groups, marker %v; want 400 and a marker", len(out.TargetGroups), out.NextMarker)
	}
	rest, err := w.Clients().ELBV2.DescribeTargetGroups(context.Background(), &elbv2.DescribeTargetGroupsInput{Marker: out.NextMarker})
	if err != nil || len(rest.TargetGroups) != 1 || rest.NextMarker != nil {
		t.Fatalf("second page: %v, %d groups; want the last one and no marker", err, len(rest.TargetGroups))
	}
}
