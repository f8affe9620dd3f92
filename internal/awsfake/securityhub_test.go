package awsfake_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	shtypes "github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
)

const gdARN = "arn:aws:guardduty:us-east-1:123456789012:detector/d1/finding/f1"

func hub(t *testing.T, cspm, v2 bool) (*awsfake.World, *awsfake.SecurityHub) {
	t.Helper()
	w := awsfake.New(account, region)
	if cspm {
		w.EnableSecurityHub()
	}
	if v2 {
		w.EnableSecurityHubV2()
	}
	w.ImportGuardDutyFinding(gdARN)
	return w, w.Clients().SecurityHub.(*awsfake.SecurityHub)
}

func gdIdentifier(id string) shtypes.AwsSecurityFindingIdentifier {
	return shtypes.AwsSecurityFindingIdentifier{Id: aws.String(id), ProductArn: aws.String(awsfake.GuardDutyProductArn("aws", region))}
}

func TestBatchUpdateFindings(t *testing.T) {
	note := &shtypes.NoteUpdate{Text: aws.String("contained"), UpdatedBy: aws.String("Firebreak")}
	many := func(n int) []shtypes.AwsSecurityFindingIdentifier {
		var ids []shtypes.AwsSecurityFindingIdentifier
		for i := range n {
			ids = append(ids, gdIdentifier(fmt.Sprintf("%s-%d", gdARN, i)))
		}
		return ids
	}
	fields := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprintf("k%d", i)] = "v"
		}
		return m
	}
	tests := []struct {
		name         string
		cspm         bool
		in           securityhub.BatchUpdateFindingsInput
		wantErr      string
		processed    int
		unprocessed  []string // error codes
		wantWorkflow shtypes.WorkflowStatus
		wantTouched  []string
	}{
		{name: "no finding", cspm: true, in: securityhub.BatchUpdateFindingsInput{FindingIdentifiers: many(0), Note: note}, wantErr: "InvalidInputException"},
		{name: "note, workflow and fields", cspm: true, in: securityhub.BatchUpdateFindingsInput{
			FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{gdIdentifier(gdARN)}, Note: note,
			Workflow: &shtypes.WorkflowUpdate{Status: shtypes.WorkflowStatusNotified}, UserDefinedFields: map[string]string{"firebreak:status": "contained"}},
			processed: 1, wantWorkflow: shtypes.WorkflowStatusNotified, wantTouched: []string{"Workflow.Status", "Note", "UserDefinedFields"}},
		{name: "Security Hub CSPM not enabled", in: securityhub.BatchUpdateFindingsInput{FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{gdIdentifier(gdARN)}, Note: note},
			wantErr: "InvalidAccessException"},
		{name: "finding not yet imported", cspm: true, in: securityhub.BatchUpdateFindingsInput{
			FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{gdIdentifier(gdARN), gdIdentifier(gdARN + "x")}, Note: note},
			processed: 1, unprocessed: []string{"FindingNotFound"}, wantWorkflow: shtypes.WorkflowStatusNew, wantTouched: []string{"Note"}},
		{name: "the same finding twice", cspm: true, in: securityhub.BatchUpdateFindingsInput{
			FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{gdIdentifier(gdARN), gdIdentifier(gdARN)}, Note: note},
			unprocessed: []string{"DuplicatedFindingIdentifier", "DuplicatedFindingIdentifier"}, wantWorkflow: shtypes.WorkflowStatusNew},
		{name: "101 findings", cspm: true, in: securityhub.BatchUpdateFindingsInput{FindingIdentifiers: many(101), Note: note}, wantErr: "InvalidInputException"},
		{name: "100 findings", cspm: true, in: securityhub.BatchUpdateFindingsInput{FindingIdentifiers: many(100), Note: note}, unprocessed: slices.Repeat([]string{"FindingNotFound"}, 100), wantWorkflow: shtypes.WorkflowStatusNew},
		{name: "note of 513 characters", cspm: true, in: securityhub.BatchUpdateFindingsInput{FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{gdIdentifier(gdARN)},
			Note: &shtypes.NoteUpdate{Text: aws.String(strings.Repeat("é", 513)), UpdatedBy: aws.String("Firebreak")}}, wantErr: "InvalidInputException"},
		{name: "note of 512 characters", cspm: true, in: securityhub.BatchUpdateFindingsInput{FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{gdIdentifier(gdARN)},
			Note: &shtypes.NoteUpdate{Text: aws.String(strings.Repeat("é", 512)), UpdatedBy: aws.String("Firebreak")}}, processed: 1, wantWorkflow: shtypes.WorkflowStatusNew, wantTouched: []string{"Note"}},
		{name: "blank note", cspm: true, in: securityhub.BatchUpdateFindingsInput{FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{gdIdentifier(gdARN)},
			Note: &shtypes.NoteUpdate{Text: aws.String("  "), UpdatedBy: aws.String("Firebreak")}}, wantErr: "InvalidInputException"},
		{name: "note without UpdatedBy", cspm: true, in: securityhub.BatchUpdateFindingsInput{FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{gdIdentifier(gdARN)},
			Note: &shtypes.NoteUpdate{Text: aws.String("x")}}, wantErr: "InvalidInputException"},
		{name: "51 user-defined fields", cspm: true, in: securityhub.BatchUpdateFindingsInput{FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{gdIdentifier(gdARN)},
			UserDefinedFields: fields(51)}, wantErr: "InvalidInputException"},
		{name: "field key of 129 characters", cspm: true, in: securityhub.BatchUpdateFindingsInput{FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{gdIdentifier(gdARN)},
			UserDefinedFields: map[string]string{strings.Repeat("k", 129): "v"}}, wantErr: "InvalidInputException"},
		{name: "field value of 1025 characters", cspm: true, in: securityhub.BatchUpdateFindingsInput{FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{gdIdentifier(gdARN)},
			UserDefinedFields: map[string]string{"k": strings.Repeat("v", 1025)}}, wantErr: "InvalidInputException"},
		{name: "unknown workflow status", cspm: true, in: securityhub.BatchUpdateFindingsInput{FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{gdIdentifier(gdARN)},
			Workflow: &shtypes.WorkflowUpdate{Status: "CONTAINED"}}, wantErr: "InvalidInputException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, c := hub(t, tc.cspm, false)
			out, err := c.BatchUpdateFindings(context.Background(), &tc.in)
			wantCode(t, err, tc.wantErr)
			f, imported := w.SecurityHubFinding(awsfake.GuardDutyProductArn("aws", region), gdARN)
			if err != nil {
				if imported && len(f.Touched) > 0 {
					t.Errorf("a refused request changed the finding: %v", f.Touched)
				}
				return
			}
			var codes []string
			for _, u := range out.UnprocessedFindings {
				codes = append(codes, aws.ToString(u.ErrorCode))
				if aws.ToString(u.ErrorMessage) == "" || u.FindingIdentifier == nil {
					t.Errorf("unprocessed finding without a message or identifier: %+v", u)
				}
			}
			if len(out.ProcessedFindings) != tc.processed || !slices.Equal(codes, tc.unprocessed) {
				t.Errorf("processed %d, unprocessed %v; want %d, %v", len(out.ProcessedFindings), codes, tc.processed, tc.unprocessed)
			}
			if f.Workflow != tc.wantWorkflow || !slices.Equal(f.Touched, tc.wantTouched) {
				t.Errorf("finding: workflow %s, touched %v; want %s, %v", f.Workflow, f.Touched, tc.wantWorkflow, tc.wantTouched)
			}
		})
	}
}

func TestBatchUpdateFindingsKeepsFieldsAndReplacesTheNote(t *testing.T) {
	w, c := hub(t, true, false)
	ctx := context.Background()
	id := []shtypes.AwsSecurityFindingIdentifier{gdIdentifier(gdARN)}
	for i, udf := range []map[string]string{{"owner": "team-a", "firebreak:status": "partial"}, {"firebreak:status": "contained"}} {
		_, err := c.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{FindingIdentifiers: id, UserDefinedFields: udf,
			Note: &shtypes.NoteUpdate{Text: aws.String(fmt.Sprintf("note %d", i)), UpdatedBy: aws.String("Firebreak")}})
		if err != nil {
			t.Fatal(err)
		}
	}
	f, _ := w.SecurityHubFinding(awsfake.GuardDutyProductArn("aws", region), gdARN)
	if f.UserDefinedFields["owner"] != "team-a" || f.UserDefinedFields["firebreak:status"] != "contained" || aws.ToString(f.Note.Text) != "note 1" ||
		aws.ToString(f.Note.UpdatedBy) != "Firebreak" || aws.ToString(f.Note.UpdatedAt) == "" {
		t.Errorf("finding = %+v, note %+v", f, f.Note)
	}
	// The 50-pair limit holds for the merged map: the finding is refused alone.
	big := map[string]string{}
	for i := range 49 {
		big[fmt.Sprintf("k%d", i)] = "v"
	}
	out, err := c.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{FindingIdentifiers: id, UserDefinedFields: big})
	if err != nil || len(out.UnprocessedFindings) != 1 || aws.ToString(out.UnprocessedFindings[0].ErrorCode) != "InvalidInput" {
		t.Errorf("over 50 fields after merging: %v %+v", err, out)
	}
}

func TestBatchUpdateFindingsV2(t *testing.T) {
	uid := awsfake.GuardDutyProductUID("aws", region)
	ident := func(findingUID string) []shtypes.OcsfFindingIdentifier {
		return []shtypes.OcsfFindingIdentifier{{CloudAccountUid: aws.String(account), FindingInfoUid: aws.String(findingUID), MetadataProductUid: aws.String(uid)}}
	}
	tests := []struct {
		name        string
		v2          bool
		in          securityhub.BatchUpdateFindingsV2Input
		wantErr     string
		processed   int
		unprocessed int
		wantStatus  int32
	}{
		{"in progress with a comment", true, securityhub.BatchUpdateFindingsV2Input{FindingIdentifiers: ident(gdARN), StatusId: aws.Int32(2), Comment: aws.String("contained")}, "", 1, 0, 2},
		{"Security Hub not enabled", false, securityhub.BatchUpdateFindingsV2Input{FindingIdentifiers: ident(gdARN), Comment: aws.String("x")}, "ResourceNotFoundException", 0, 0, 0},
		{"not yet imported", true, securityhub.BatchUpdateFindingsV2Input{FindingIdentifiers: ident(gdARN + "x"), Comment: aws.String("x")}, "", 0, 1, 1},
		{"both identifier kinds", true, securityhub.BatchUpdateFindingsV2Input{FindingIdentifiers: ident(gdARN), MetadataUids: []string{"m"}, Comment: aws.String("x")}, "ValidationException", 0, 0, 1},
		{"no identifier", true, securityhub.BatchUpdateFindingsV2Input{Comment: aws.String("x")}, "ValidationException", 0, 0, 1},
		{"nothing to update", true, securityhub.BatchUpdateFindingsV2Input{FindingIdentifiers: ident(gdARN)}, "ValidationException", 0, 0, 1},
		{"comment of 513 characters", true, securityhub.BatchUpdateFindingsV2Input{FindingIdentifiers: ident(gdARN), Comment: aws.String(strings.Repeat("x", 513))}, "ValidationException", 0, 0, 1},
		{"unknown status id", true, securityhub.BatchUpdateFindingsV2Input{FindingIdentifiers: ident(gdARN), StatusId: aws.Int32(7)}, "ValidationException", 0, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, c := hub(t, false, tc.v2)
			out, err := c.BatchUpdateFindingsV2(context.Background(), &tc.in)
			wantCode(t, err, tc.wantErr)
			f, _ := w.SecurityHubV2Finding(account, gdARN, uid)
			if f.StatusID != tc.wantStatus {
				t.Errorf("status id = %d, want %d", f.StatusID, tc.wantStatus)
			}
			if err != nil {
				return
			}
			if len(out.ProcessedFindings) != tc.processed || len(out.UnprocessedFindings) != tc.unprocessed {
				t.Errorf("processed %+v unprocessed %+v", out.ProcessedFindings, out.UnprocessedFindings)
			}
			for _, u := range out.UnprocessedFindings {
				if u.ErrorCode != shtypes.BatchUpdateFindingsV2UnprocessedFindingErrorCodeResourceNotFoundException {
					t.Errorf("unprocessed code %s", u.ErrorCode)
				}
			}
		})
	}
}

func TestSecurityHubFaultsAndDenials(t *testing.T) {
	w, c := hub(t, true, true)
	in := &securityhub.BatchUpdateFindingsInput{FindingIdentifiers: []shtypes.AwsSecurityFindingIdentifier{gdIdentifier(gdARN)},
		Note: &shtypes.NoteUpdate{Text: aws.String("x"), UpdatedBy: aws.String("Firebreak")}}
	w.FailAlways("BatchUpdateFindings", "LimitExceededException")
	_, err := c.BatchUpdateFindings(context.Background(), in)
	wantCode(t, err, "LimitExceededException")
	w.FailAlways("BatchUpdateFindings", "")
	w.Deny("BatchUpdateFindings")
	_, err = c.BatchUpdateFindings(context.Background(), in)
	wantCode(t, err, "AccessDeniedException")
	if f, _ := w.SecurityHubFinding(awsfake.GuardDutyProductArn("aws", region), gdARN); len(f.Touched) != 0 {
		t.Errorf("a throttled or denied call changed the finding: %v", f.Touched)
	}
}
