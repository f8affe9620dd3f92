package awssim_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/awssim"
)

const findingARN = "arn:aws:guardduty:us-east-1:123456789012:detector/12abc34d567e8fa901bc2d34e56789f0/finding/411647294fc69b66beba1f3f7bbbc43d"

// hubWorld is the demo world with both Security Hubs on and the backdoor
// finding imported into each.
func hubWorld() (*awsfake.World, awsfake.Demo) {
	w, d := demoWorld()
	w.EnableSecurityHub()
	w.EnableSecurityHubV2()
	w.ImportGuardDutyFinding(findingARN)
	return w, d
}

// TestSecurityHubAndSnapshotLockOverTheWire runs every Security Hub and
// snapshot-lock call Firebreak makes, through real SDK clients and the
// simulator and directly against an identical world: outputs, errors and the
// final state must match.
func TestSecurityHubAndSnapshotLockOverTheWire(t *testing.T) {
	direct, d := hubWorld()
	wired, _ := hubWorld()
	_, overWire := serve(t, wired)
	straight := api{Clients: direct.Clients(), STS: direct.STS()}
	product := awsfake.GuardDutyProductArn("aws", "us-east-1")
	productV2 := awsfake.GuardDutyProductUID("aws", "us-east-1")
	gd := shtypes.AwsSecurityFindingIdentifier{Id: aws.String(findingARN), ProductArn: aws.String(product)}
	unknown := shtypes.AwsSecurityFindingIdentifier{Id: aws.String(findingARN + "0"), ProductArn: aws.String(product)}
	var snaps []string
	steps := []wireStep{
		{name: "BatchUpdateFindings: note, workflow, fields; one finding not imported", call: func(ctx context.Context, c api) (any, error) {
			return c.SecurityHub.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{
				FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{gd, unknown},
				Note:               &shtypes.NoteUpdate{Text: aws.String("Firebreak contained i-0abc"), UpdatedBy: aws.String("Firebreak")},
				Workflow:           &shtypes.WorkflowUpdate{Status: shtypes.WorkflowStatusNotified},
				UserDefinedFields:  map[string]string{"firebreak:status": "contained", "firebreak:empty": ""},
			})
		}},
		{name: "BatchUpdateFindings: note over 512 characters", code: "InvalidInputException", status: 400, call: func(ctx context.Context, c api) (any, error) {
			return c.SecurityHub.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{
				FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{gd},
				Note:               &shtypes.NoteUpdate{Text: aws.String(strings.Repeat("x", 513)), UpdatedBy: aws.String("Firebreak")}})
		}},
		{name: "BatchUpdateFindingsV2: status and comment; one finding not imported", call: func(ctx context.Context, c api) (any, error) {
			return c.SecurityHub.BatchUpdateFindingsV2(ctx, &securityhub.BatchUpdateFindingsV2Input{
				FindingIdentifiers: []shtypes.OcsfFindingIdentifier{
					{CloudAccountUid: aws.String(account), FindingInfoUid: aws.String(findingARN), MetadataProductUid: aws.String(productV2)},
					{CloudAccountUid: aws.String(account), FindingInfoUid: aws.String(findingARN + "0"), MetadataProductUid: aws.String(productV2)},
				},
				StatusId: aws.Int32(2), Comment: aws.String("Firebreak contained i-0abc")})
		}},
		{name: "BatchUpdateFindingsV2: identifiers and metadata uids together", code: "ValidationException", status: 400, call: func(ctx context.Context, c api) (any, error) {
			return c.SecurityHub.BatchUpdateFindingsV2(ctx, &securityhub.BatchUpdateFindingsV2Input{MetadataUids: []string{"m"},
				FindingIdentifiers: []shtypes.OcsfFindingIdentifier{{CloudAccountUid: aws.String(account), FindingInfoUid: aws.String(findingARN), MetadataProductUid: aws.String(productV2)}},
				Comment:            aws.String("x")})
		}},
		{name: "ec2:CreateSnapshots", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.CreateSnapshots(ctx, &ec2.CreateSnapshotsInput{InstanceSpecification: &ec2types.InstanceSpecification{InstanceId: aws.String(d.Victim)}})
		}, after: func(out any) {
			for _, s := range out.(*ec2.CreateSnapshotsOutput).Snapshots {
				snaps = append(snaps, aws.ToString(s.SnapshotId))
			}
		}},
		{name: "ec2:LockSnapshot pending, governance", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.LockSnapshot(ctx, &ec2.LockSnapshotInput{SnapshotId: aws.String(snaps[0]), LockMode: ec2types.LockModeGovernance, LockDuration: aws.Int32(90)})
		}},
		{name: "ec2:LockSnapshot compliance with a cooling-off period", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.LockSnapshot(ctx, &ec2.LockSnapshotInput{SnapshotId: aws.String(snaps[1]), LockMode: ec2types.LockModeCompliance,
				ExpirationDate: aws.Time(awsfake.Epoch.AddDate(0, 0, 30)), CoolOffPeriod: aws.Int32(24)})
		}},
		{name: "ec2:LockSnapshot cooling-off in governance", code: "InvalidParameterCombination", status: 400, call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.LockSnapshot(ctx, &ec2.LockSnapshotInput{SnapshotId: aws.String(snaps[0]), LockMode: ec2types.LockModeGovernance,
				LockDuration: aws.Int32(90), CoolOffPeriod: aws.Int32(1)})
		}},
		{name: "ec2:LockSnapshot dry run", code: "DryRunOperation", status: 412, call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.LockSnapshot(ctx, &ec2.LockSnapshotInput{SnapshotId: aws.String(snaps[0]), LockMode: ec2types.LockModeGovernance,
				LockDuration: aws.Int32(90), DryRun: aws.Bool(true)})
		}},
		{name: "ec2:DescribeLockedSnapshots", call: func(ctx context.Context, c api) (any, error) {
			return c.EC2.DescribeLockedSnapshots(ctx, &ec2.DescribeLockedSnapshotsInput{SnapshotIds: snaps})
		}},
	}
	compareOverTheWire(t, straight, overWire, steps)
	for _, w := range []*awsfake.World{direct, wired} {
		f, _ := w.SecurityHubFinding(product, findingARN)
		if f.Workflow != shtypes.WorkflowStatusNotified || aws.ToString(f.Note.Text) != "Firebreak contained i-0abc" ||
			f.UserDefinedFields["firebreak:status"] != "contained" {
			t.Errorf("CSPM finding after the calls: %+v", f)
		}
		v2, _ := w.SecurityHubV2Finding(account, findingARN, productV2)
		if v2.StatusID != 2 || v2.Comment != "Firebreak contained i-0abc" {
			t.Errorf("OCSF finding after the calls: %+v", v2)
		}
	}
	df, _ := direct.SecurityHubFinding(product, findingARN)
	wf, _ := wired.SecurityHubFinding(product, findingARN)
	assertSame(t, "CSPM finding", &df, &wf)
	for _, id := range snaps {
		dl, _ := direct.SnapshotLock(id)
		wl, _ := wired.SnapshotLock(id)
		assertSame(t, "lock of "+id, &dl, &wl)
	}
}

// TestSecurityHubErrorsAreTypedForTheSDK checks the SDK turns the
// simulator's answers into its own error types, with AWS's statuses.
func TestSecurityHubErrorsAreTypedForTheSDK(t *testing.T) {
	w, _ := demoWorld() // Security Hub is off in this account
	_, c := serve(t, w)
	ctx := context.Background()
	_, err := c.SecurityHub.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{
		FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{{Id: aws.String(findingARN), ProductArn: aws.String("p")}},
		Note:               &shtypes.NoteUpdate{Text: aws.String("n"), UpdatedBy: aws.String("Firebreak")}})
	var notSubscribed *shtypes.InvalidAccessException
	if !errors.As(err, &notSubscribed) || !strings.Contains(notSubscribed.ErrorMessage(), "not subscribed to AWS Security Hub") {
		t.Errorf("BatchUpdateFindings without Security Hub: %v, want InvalidAccessException", err)
	}
	assertWireError(t, err, "InvalidAccessException", 401)
	// The SDK models no ResourceNotFoundException for BatchUpdateFindingsV2:
	// it arrives as a generic API error with that code.
	_, err = c.SecurityHub.BatchUpdateFindingsV2(ctx, &securityhub.BatchUpdateFindingsV2Input{MetadataUids: []string{"m"}, Comment: aws.String("n")})
	assertWireError(t, err, "ResourceNotFoundException", 404)
}

// TestSecurityHubFaults: a throttled BatchUpdateFindings is the SDK's to
// retry; with retries exhausted the caller sees LimitExceededException.
func TestSecurityHubFaults(t *testing.T) {
	w, _ := hubWorld()
	sim := startSim(t, awssim.Backend{Clients: w.Clients(), STS: w.STS()}, awssim.WithFailNext("securityhub:BatchUpdateFindings", 1, "LimitExceededException"))
	retrying := sdkClients(sdkConfig(t, sim, 3), true)
	in := &securityhub.BatchUpdateFindingsInput{
		FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{{Id: aws.String(findingARN), ProductArn: aws.String(awsfake.GuardDutyProductArn("aws", "us-east-1"))}},
		Note:               &shtypes.NoteUpdate{Text: aws.String("n"), UpdatedBy: aws.String("Firebreak")}}
	out, err := retrying.SecurityHub.BatchUpdateFindings(context.Background(), in)
	if err != nil || len(out.ProcessedFindings) != 1 {
		t.Fatalf("after one throttle: %v %+v", err, out)
	}
	if st := sim.Stats()["securityhub:BatchUpdateFindings"]; st.Calls != 1 || st.Attempts != 2 || st.Faults != 1 {
		t.Errorf("stats = %+v, want 1 call in 2 attempts, 1 fault", st)
	}
	sim.SetThrottleRate("securityhub:*", 1)
	once := sdkClients(sdkConfig(t, sim, 1), true)
	_, err = once.SecurityHub.BatchUpdateFindingsV2(context.Background(), &securityhub.BatchUpdateFindingsV2Input{MetadataUids: []string{"m"}, Comment: aws.String("n")})
	assertWireError(t, err, "ThrottlingException", 429)
	_, err = once.SecurityHub.BatchUpdateFindings(context.Background(), in)
	assertWireError(t, err, "LimitExceededException", 429)
}

// TestSecurityHubRequestsDecodedByWireName sends a body written the way
// the API reference documents it.
func TestSecurityHubRequestsDecodedByWireName(t *testing.T) {
	e := newEcho()
	sim := startSim(t, e.backend())
	body := `{"FindingIdentifiers":[{"Id":"f-1","ProductArn":"p-1"}],"Note":{"Text":"t","UpdatedBy":"u"},` +
		`"Workflow":{"Status":"NOTIFIED"},"UserDefinedFields":{"k":"v"},"Confidence":80}`
	req, err := http.NewRequest(http.MethodPatch, sim.Endpoint()+"/findings/batchupdate", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDSIMULATOR/20260101/us-east-1/securityhub/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := sim.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	want := &securityhub.BatchUpdateFindingsInput{
		FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{{Id: aws.String("f-1"), ProductArn: aws.String("p-1")}},
		Note:               &shtypes.NoteUpdate{Text: aws.String("t"), UpdatedBy: aws.String("u")},
		Workflow:           &shtypes.WorkflowUpdate{Status: shtypes.WorkflowStatusNotified},
		UserDefinedFields:  map[string]string{"k": "v"}, Confidence: aws.Int32(80)}
	assertSame(t, "decoded input", want, e.input("securityhub:BatchUpdateFindings"))

	req, _ = http.NewRequest(http.MethodPatch, sim.Endpoint()+"/findings/batchupdate", strings.NewReader(`{"Notes":{}}`))
	req.Header = resp.Request.Header.Clone()
	bad, err := sim.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Body.Close()
	if bad.StatusCode != http.StatusBadRequest || bad.Header.Get("X-Amzn-Errortype") != "SerializationException" {
		t.Errorf("unknown member: status %d, type %q", bad.StatusCode, bad.Header.Get("X-Amzn-Errortype"))
	}
}
