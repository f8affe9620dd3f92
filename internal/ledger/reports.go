package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
)

// Reports records which reports were published, one per case and outcome:
// a claim (state publishing, with a lease) before the publish, marked
// published after it, deleted when the publish failed so that the retry
// publishes. A claim whose publisher died is taken over after its lease.
type Reports struct {
	t         table
	lease     time.Duration
	retention time.Duration
	now       func() time.Time
}

// ReportKey names one report: the instance and case it is about, and its
// outcome (contained, partial, held, ...).
type ReportKey struct {
	Scope
	Instance, Case, Outcome string
}

func (k ReportKey) item() item {
	return key(pk(kindReport, k.Account, k.Region, k.Instance, k.Case), "outcome#"+k.Outcome)
}

// States of a report record.
const (
	statePublishing = "publishing"
	statePublished  = "published"
)

// NewReports returns the record of reports in the table. Records are kept
// for retention (GuardDuty re-publishes an active finding for as long as it
// lasts); a publisher has lease to publish before its claim can be taken.
func NewReports(db awsapi.DynamoDB, name string, lease, retention time.Duration, now func() time.Time) *Reports {
	if now == nil {
		now = time.Now
	}
	return &Reports{t: table{db: db, name: name}, lease: lease, retention: retention, now: now}
}

// Claim is the right to publish one report.
type Claim struct {
	r     *Reports
	k     ReportKey
	owner string
}

// Claim returns a claim when this report has not been published yet (nor
// is being published by a live invocation), nil when it has. An error means
// the record could not be read: the caller publishes anyway, since a
// duplicate is better than no report.
func (r *Reports) Claim(ctx context.Context, k ReportKey) (*Claim, error) {
	now := r.now().UTC()
	c := &Claim{r: r, k: k, owner: newOwner()}
	it := k.item()
	it[attrOwner], it[attrState] = str(c.owner), str(statePublishing)
	it[attrLeaseUntil], it[attrExpires] = num(now.Add(r.lease).UnixMilli()), num(now.Add(r.retention).Unix())
	err := r.t.put(ctx, it, cond{
		"attribute_not_exists(#pk) OR #exp <= :now OR (#state = :publishing AND #lease < :nowms)",
		map[string]string{"#pk": attrPK, "#exp": attrExpires, "#state": attrState, "#lease": attrLeaseUntil},
		map[string]ddbtypes.AttributeValue{":now": num(now.Unix()), ":nowms": num(now.UnixMilli()), ":publishing": str(statePublishing)},
	})
	switch {
	case err == nil:
		return c, nil
	case !conditionFailed(err):
		return nil, wrap("claiming the report "+k.Outcome+" of case "+k.Case, err)
	}
	// Our own claim, answered as a failure after a lost response?
	cur, err := r.t.get(ctx, k.item())
	if err != nil {
		return nil, wrap("reading the report record of case "+k.Case, err)
	}
	if cur.str(attrOwner) == c.owner {
		return c, nil
	}
	return nil, nil
}

// Published marks the report published.
func (c *Claim) Published(ctx context.Context) error {
	_, err := c.r.t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(c.r.t.name), Key: c.k.item(),
		UpdateExpression: aws.String("SET #state = :published"), ConditionExpression: aws.String("#owner = :owner"),
		ExpressionAttributeNames:  map[string]string{"#state": attrState, "#owner": attrOwner},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":published": str(statePublished), ":owner": str(c.owner)}})
	if conditionFailed(err) {
		return nil // taken over after our lease: the taker publishes again
	}
	return wrap("recording the report "+c.k.Outcome+" of case "+c.k.Case+" as published", err)
}

// Failed drops the claim, so that the next attempt publishes.
func (c *Claim) Failed(ctx context.Context) error {
	err := c.r.t.delete(ctx, c.k.item(), ownedBy(c.owner))
	if conditionFailed(err) {
		return nil
	}
	return wrap("dropping the claim on the report of case "+c.k.Case, err)
}

// Attempt counts one more attempt that ended with this outcome and returns
// how many there were (1 for the first).
func (r *Reports) Attempt(ctx context.Context, k ReportKey) (int, error) {
	now := r.now().UTC()
	k.Outcome = "attempts#" + k.Outcome
	out, err := r.t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(r.t.name), Key: k.item(),
		UpdateExpression:          aws.String("ADD #n :one SET #exp = :exp"),
		ExpressionAttributeNames:  map[string]string{"#n": attrAttempts, "#exp": attrExpires},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":one": num(1), ":exp": num(now.Add(r.retention).Unix())},
		ReturnValues:              ddbtypes.ReturnValueUpdatedNew})
	if err != nil {
		return 0, wrap(fmt.Sprintf("counting attempts of case %s", k.Case), err)
	}
	return int(item(out.Attributes).num(attrAttempts)), nil
}
