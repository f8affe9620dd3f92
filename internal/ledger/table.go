// Package ledger is Firebreak's DynamoDB table: the blast-radius guard's
// tokens (guard.go) and the record of published reports (reports.go). Every
// write is a single-item conditional write (no transactions: dynalite, the
// implementation the tests run against, has none), so every invariant rests
// on one item's condition.
//
// Keys: the partition key starts with the item's kind, so kinds never
// collide and new ones (a lock per IAM role, say) add a prefix:
//
//	kind    pk                                         sk
//	slot    slots#<account>#<region>                   slot#<0000..cap-1>
//	hold    hold#<account>#<region>#<instance>         hold
//	manual  manual#<account>#<region>#<instance>       case#<case>
//	report  report#<account>#<region>#<instance>#<case> outcome#<outcome>
//	sweep   sweep#<region>                             cursor
//
// Items carry expiresAt (epoch seconds), the table's TTL attribute. TTL
// deletes expired items only within days, so every condition and read
// treats an item whose expiresAt has passed as absent.
package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/contract"
)

// Item kinds: the first segment of every partition key.
const (
	kindSlots  = "slots"
	kindHold   = "hold"
	kindManual = "manual"
	kindReport = "report"
)

// Attribute names. Every expression names them through placeholders
// (#name), so DynamoDB's reserved words never matter.
const (
	attrPK         = contract.GuardPartitionKey
	attrSK         = contract.GuardSortKey
	attrExpires    = contract.GuardTTLAttribute
	attrOwner      = "owner"
	attrInstance   = "instance"
	attrCase       = "case"
	attrTakenAt    = "takenAt"
	attrLeaseUntil = "leaseUntil"
	attrState      = "state"
	attrAttempts   = "attempts"
)

// Scope is where containments are counted: one account and Region.
type Scope struct {
	Account, Region string
}

func (s Scope) String() string { return s.Account + "/" + s.Region }

func pk(kind string, parts ...string) string {
	return kind + "#" + strings.Join(parts, "#")
}

// table is the narrow layer every kind writes through.
type table struct {
	db   awsapi.DynamoDB
	name string
}

type item map[string]ddbtypes.AttributeValue

func key(pk, sk string) item { return item{attrPK: str(pk), attrSK: str(sk)} }

func str(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
func num(v int64) ddbtypes.AttributeValue {
	return &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

func (it item) str(name string) string {
	if v, ok := it[name].(*ddbtypes.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func (it item) num(name string) int64 {
	if v, ok := it[name].(*ddbtypes.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}

// live reports whether the item exists and has not expired at now.
func (it item) live(now time.Time) bool { return it != nil && it.num(attrExpires) > now.Unix() }

// cond is a condition expression with its placeholders.
type cond struct {
	expr   string
	names  map[string]string
	values map[string]ddbtypes.AttributeValue
}

// absentOrExpired holds when no live item has the key: the way to take an
// item over without reading it first.
func absentOrExpired(now time.Time) cond {
	return cond{"attribute_not_exists(#pk) OR #exp <= :now",
		map[string]string{"#pk": attrPK, "#exp": attrExpires}, map[string]ddbtypes.AttributeValue{":now": num(now.Unix())}}
}

// ownedBy holds when the item is the given owner's.
func ownedBy(owner string) cond {
	return cond{"#owner = :owner", map[string]string{"#owner": attrOwner}, map[string]ddbtypes.AttributeValue{":owner": str(owner)}}
}

func (t table) put(ctx context.Context, it item, c cond) error {
	_, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.name), Item: it,
		ConditionExpression: aws.String(c.expr), ExpressionAttributeNames: c.names, ExpressionAttributeValues: c.values})
	return err
}

func (t table) delete(ctx context.Context, k item, c cond) error {
	_, err := t.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(t.name), Key: k,
		ConditionExpression: aws.String(c.expr), ExpressionAttributeNames: c.names, ExpressionAttributeValues: c.values})
	return err
}

func (t table) get(ctx context.Context, k item) (item, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.name), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	return out.Item, nil
}

// query reads a whole partition, strongly consistent.
func (t table) query(ctx context.Context, partition string) ([]item, error) {
	in := &dynamodb.QueryInput{TableName: aws.String(t.name), ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": str(partition)}}
	var out []item
	for {
		page, err := t.db.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			out = append(out, it)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// conditionFailed reports whether err is DynamoDB's answer to a condition
// that did not hold.
func conditionFailed(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ConditionalCheckFailedException"
}

// Code is err's AWS error code (or a short cause), for reports.
func Code(err error) string {
	var ae smithy.APIError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ae):
		return ae.ErrorCode()
	case errors.Is(err, context.DeadlineExceeded):
		return "Timeout"
	case errors.Is(err, context.Canceled):
		return "Canceled"
	}
	return "Error"
}

// newOwner names one invocation's claim, so its own writes (seen again
// after a lost answer and the SDK's retry) are told from others'.
func newOwner() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
