package stack_test

import "testing"

// The verification reads the capture record of a contained instance: the
// contain role may read that object, decrypted through S3, and nothing else
// of the evidence.
func TestContainRoleReadsCaptureRecordsOnly(t *testing.T) {
	evidence := "${Evidence.Arn}/${AWS::AccountId}/${AWS::Region}/i-0abc1234def567890/411647294fc69b66beba1f3f7bbbc43d/"
	viaS3 := map[string]string{"kms:ViaService": "s3.${AWS::Region}.amazonaws.com"}
	sts := statements(synth(t, nil))
	for _, r := range []request{
		{action: "s3:GetObject", resource: evidence + "capture.json"},
		{action: "s3:GetObjectVersion", resource: evidence + "capture.json"},
		{action: "kms:Decrypt", resource: "${EvidenceKey.Arn}", context: viaS3},
	} {
		if !allowed(sts, "ContainRoleDefaultPolicy", r) {
			t.Errorf("the contain role cannot %s on %s: the verification needs it", r.action, r.resource)
		}
	}
	for _, r := range []request{
		{action: "s3:GetObject", resource: evidence + "report-20260115T090000.000Z.json"},
		{action: "s3:GetObject", resource: "${Evidence.Arn}/snapshot-claim-0123"},
		{action: "s3:DeleteObject", resource: evidence + "capture.json"},
		{action: "s3:ListBucket", resource: "${Evidence.Arn}", context: map[string]string{"s3:prefix": ""}},
		{action: "kms:Decrypt", resource: "${EvidenceKey.Arn}"},
	} {
		if allowed(sts, "ContainRoleDefaultPolicy", r) {
			t.Errorf("the contain role may %s on %s (context %v): it must not", r.action, r.resource, r.context)
		}
	}
}
