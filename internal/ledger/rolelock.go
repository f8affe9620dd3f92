package ledger

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/contract"
)

// kindRolePolicy is one IAM role's deny policies: the instance ARNs wanted
// denied, those written, and a lease on writing them.
//
//	rolepolicy  rolepolicy#<account>#<role>  lock
const kindRolePolicy = contract.RoleLockKind

const (
	attrWant    = "want"
	attrWritten = "written"
	attrHolder  = "holder"
)

// ErrLockTimeout is returned when the role's writes did not include the
// instance before the wait ran out (a retry picks up where it stopped).
var ErrLockTimeout = errors.New("timed out waiting for the role's deny policies to be written")

// Apply writes the IAM side for the whole wanted set and returns the ARNs the
// role's policies deny afterwards (also when it fails part-way).
type Apply func(ctx context.Context, want []string) (written []string, err error)

// RoleLock serialises the writes of one role's deny policies with group
// commit: every containment adds its ARN to the wanted set, whoever holds
// the lease writes the whole set, and the others only wait until their ARN is
// written. 300 instances of one role end in a few writes, not 300
// read-modify-writes racing on one IAM policy.
type RoleLock struct {
	t     table
	lease time.Duration
	poll  time.Duration
	wait  time.Duration
	now   func() time.Time
}

// NewRoleLock returns the lock over the ledger table.
func NewRoleLock(db awsapi.DynamoDB, tableName string) *RoleLock {
	return &RoleLock{t: table{db: db, name: tableName}, lease: 30 * time.Second, poll: 100 * time.Millisecond, wait: 2 * time.Minute, now: time.Now}
}

// WithTiming sets the lease, the polling interval and the longest wait (tests).
func (l *RoleLock) WithTiming(lease, poll, wait time.Duration) *RoleLock {
	c := *l
	c.lease, c.poll, c.wait = lease, poll, wait
	return &c
}

// Commit says how the caller's change was written.
type Commit struct {
	// ByThisCall is set when this call held the lease for the write that
	// included its ARN (else another containment's write did).
	ByThisCall bool
	// Batch is how many ARNs that write covered.
	Batch int
	// Writes is how many times this call held the lease.
	Writes int
}

// Add makes sure the role's policies deny arn.
func (l *RoleLock) Add(ctx context.Context, account, role, arn string, apply Apply) (Commit, error) {
	return l.converge(ctx, account, role, arn, true, apply)
}

// Rewrite writes the role's wanted set again with arn in it, even when the
// lock's record says it is written: IAM was changed behind the lock's back
// (a verification found the deny gone).
func (l *RoleLock) Rewrite(ctx context.Context, account, role, arn string, apply Apply) (Commit, error) {
	k := key(pk(kindRolePolicy, account, role), "lock")
	var c Commit
	_, err := l.t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(l.t.name), Key: k,
		UpdateExpression: aws.String("ADD #want :a REMOVE #written"), ExpressionAttributeNames: map[string]string{"#want": attrWant, "#written": attrWritten},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":a": &ddbtypes.AttributeValueMemberSS{Value: []string{arn}}}})
	if err != nil {
		return c, wrap("recording the wanted deny of "+arn+" on role "+role, err)
	}
	// With the written set cleared, the next holder (this call or another)
	// writes the whole wanted set again.
	return l.converge(ctx, account, role, arn, true, apply)
}

// Remove makes sure the role's policies no longer deny arn.
func (l *RoleLock) Remove(ctx context.Context, account, role, arn string, apply Apply) (Commit, error) {
	return l.converge(ctx, account, role, arn, false, apply)
}

func (l *RoleLock) converge(ctx context.Context, account, role, arn string, add bool, apply Apply) (Commit, error) {
	var c Commit
	k := key(pk(kindRolePolicy, account, role), "lock")
	op := "ADD"
	if !add {
		op = "DELETE"
	}
	// Uncontended, one write records the change and takes the lease.
	st, err := l.take(ctx, k, op+" #want :a", arn)
	switch {
	case err == nil && st != nil && slices.Contains(st.set(attrWritten), arn) == add:
		// Already so (a retry, a second release): nothing to write.
		return c, wrap("letting go of the lease on role "+role, l.letGo(ctx, k, st.str(attrHolder)))
	case err == nil && st != nil:
		if st, err = l.write(ctx, k, st, &c, apply, arn); err != nil {
			return c, err
		}
	}
	if err != nil {
		return c, wrap("recording the wanted deny of "+arn+" on role "+role, err)
	}
	if st == nil {
		out, err := l.t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(l.t.name), Key: k,
			UpdateExpression: aws.String(op + " #want :a"), ExpressionAttributeNames: map[string]string{"#want": attrWant},
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":a": &ddbtypes.AttributeValueMemberSS{Value: []string{arn}}},
			ReturnValues:              ddbtypes.ReturnValueAllNew})
		if err != nil {
			return c, wrap("recording the wanted deny of "+arn+" on role "+role, err)
		}
		st = item(out.Attributes)
	}
	deadline := l.now().Add(l.wait)
	for {
		if slices.Contains(st.set(attrWritten), arn) == add {
			return c, nil
		}
		if free(st, l.now()) {
			took, err := l.take(ctx, k, "", arn)
			if err != nil {
				return c, wrap("taking the lease on the deny policies of role "+role, err)
			}
			if took != nil {
				if st, err = l.write(ctx, k, took, &c, apply, arn); err != nil {
					return c, err
				}
				continue
			}
		}
		if l.now().After(deadline) {
			return c, fmt.Errorf("%w (role %s)", ErrLockTimeout, role)
		}
		select {
		case <-ctx.Done():
			return c, fmt.Errorf("waiting for the deny policies of role %s: %w", role, ctx.Err())
		case <-time.After(l.poll/2 + rand.N(l.poll)):
		}
		if st, err = l.t.get(ctx, k); err != nil {
			return c, wrap("reading the deny state of role "+role, err)
		}
	}
}

func free(st item, now time.Time) bool {
	return st.str(attrHolder) == "" || st.num(attrLeaseUntil) < now.UnixMilli()
}

func (it item) set(name string) []string {
	if v, ok := it[name].(*ddbtypes.AttributeValueMemberSS); ok {
		return v.Value
	}
	return nil
}

// take takes the lease (with an update of the wanted set, when given) and
// returns the item, or nil when another holds a live lease.
func (l *RoleLock) take(ctx context.Context, k item, change, arn string) (item, error) {
	me := newOwner()
	now := l.now()
	upd := "SET #holder = :me, #until = :until"
	names := map[string]string{"#holder": attrHolder, "#until": attrLeaseUntil}
	values := map[string]ddbtypes.AttributeValue{":me": str(me), ":until": num(now.Add(l.lease).UnixMilli()), ":now": num(now.UnixMilli())}
	if change != "" {
		upd = change + " " + upd
		names["#want"] = attrWant
		values[":a"] = &ddbtypes.AttributeValueMemberSS{Value: []string{arn}}
	}
	out, err := l.t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(l.t.name), Key: k,
		UpdateExpression: aws.String(upd), ConditionExpression: aws.String("attribute_not_exists(#holder) OR #until < :now"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values, ReturnValues: ddbtypes.ReturnValueAllNew})
	if conditionFailed(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	it := item(out.Attributes)
	it[attrHolder] = str(me) // the holder id to let go with
	return it, nil
}

// write writes the wanted set as the lease holder, records what IAM holds
// now and lets go. It returns the item after the write; an empty item when
// the lease ran out under it (another holder's write counts then).
func (l *RoleLock) write(ctx context.Context, k item, held item, c *Commit, apply Apply, arn string) (item, error) {
	me := held.str(attrHolder)
	want := held.set(attrWant)
	c.Writes++
	written, applyErr := apply(ctx, want)
	// Record what IAM holds now, also after a partial failure, and let go.
	upd, values := "REMOVE #holder, #until, #written", map[string]ddbtypes.AttributeValue{":me": str(me)}
	if len(written) > 0 {
		upd = "SET #written = :w REMOVE #holder, #until"
		values[":w"] = &ddbtypes.AttributeValueMemberSS{Value: written}
	}
	rel, err := l.t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(l.t.name), Key: k,
		UpdateExpression: aws.String(upd), ConditionExpression: aws.String("#holder = :me"),
		ExpressionAttributeNames:  map[string]string{"#holder": attrHolder, "#until": attrLeaseUntil, "#written": attrWritten},
		ExpressionAttributeValues: values, ReturnValues: ddbtypes.ReturnValueAllNew})
	switch {
	case applyErr != nil:
		return nil, applyErr
	case conditionFailed(err):
		return item{}, nil
	case err != nil:
		return nil, wrap("recording a role's written deny policies", err)
	}
	if slices.Contains(written, arn) || !slices.Contains(want, arn) {
		c.ByThisCall, c.Batch = true, len(want)
	}
	return item(rel.Attributes), nil
}

// letGo gives the lease back without writing.
func (l *RoleLock) letGo(ctx context.Context, k item, me string) error {
	_, err := l.t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(l.t.name), Key: k,
		UpdateExpression: aws.String("REMOVE #holder, #until"), ConditionExpression: aws.String("#holder = :me"),
		ExpressionAttributeNames:  map[string]string{"#holder": attrHolder, "#until": attrLeaseUntil},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":me": str(me)}})
	if conditionFailed(err) {
		return nil // the lease ran out and is another's now
	}
	return err
}
