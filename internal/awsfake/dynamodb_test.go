package awsfake_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/contract"
	"github.com/firebreak-ir/firebreak/internal/dynalite"
)

// real is a dynalite the DynamoDB cases also run against: what the model
// answers, a real implementation of the API answers too.
var real *dynalite.Server

func TestMain(m *testing.M) {
	s, err := dynalite.Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	real = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}

// backends returns a fresh guard-shaped table in the model and in dynalite.
func backends(t *testing.T) map[string]func() (awsapi.DynamoDB, string) {
	t.Helper()
	return map[string]func() (awsapi.DynamoDB, string){
		"model": func() (awsapi.DynamoDB, string) {
			w := awsfake.New(account, region)
			w.AddTable(awsfake.TableSpec{Name: "guard", PartitionKey: contract.GuardPartitionKey, SortKey: contract.GuardSortKey})
			return w.Clients().DynamoDB, "guard"
		},
		"dynalite": func() (awsapi.DynamoDB, string) {
			c, name, err := real.NewGuardTable(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return c, name
		},
	}
}

func s(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }
func n(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberN{Value: v} }

func key(pk, sk string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{"pk": s(pk), "sk": s(sk)}
}

func item(pk, sk string, kv ...any) map[string]ddbtypes.AttributeValue {
	m := key(pk, sk)
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1].(ddbtypes.AttributeValue)
	}
	return m
}

// notExistsOrExpired is the guard's condition for taking an item over.
const notExistsOrExpired = "attribute_not_exists(#pk) OR #exp <= :now"

func TestDynamoDBAgainstDynalite(t *testing.T) {
	ctx := context.Background()
	names := map[string]string{"#pk": "pk", "#exp": "expiresAt"}
	type step func(c awsapi.DynamoDB, tbl string) error
	put := func(it map[string]ddbtypes.AttributeValue, cond string, vals map[string]ddbtypes.AttributeValue, nm map[string]string) step {
		return func(c awsapi.DynamoDB, tbl string) error {
			in := &dynamodb.PutItemInput{TableName: aws.String(tbl), Item: it, ExpressionAttributeNames: nm, ExpressionAttributeValues: vals}
			if cond != "" {
				in.ConditionExpression = aws.String(cond)
			}
			_, err := c.PutItem(ctx, in)
			return err
		}
	}
	tests := []struct {
		name  string
		setup []step
		run   step
		want  string // error code, "" for success
	}{
		{"put new with attribute_not_exists", nil,
			put(item("a", "1"), "attribute_not_exists(#pk)", nil, map[string]string{"#pk": "pk"}), ""},
		{"put over an existing item with attribute_not_exists", []step{put(item("a", "1"), "", nil, nil)},
			put(item("a", "1"), "attribute_not_exists(#pk)", nil, map[string]string{"#pk": "pk"}), "ConditionalCheckFailedException"},
		{"take over an expired item", []step{put(item("a", "1", "expiresAt", n("100")), "", nil, nil)},
			put(item("a", "1"), notExistsOrExpired, map[string]ddbtypes.AttributeValue{":now": n("100")}, names), ""},
		{"numbers compare as numbers, not strings", []step{put(item("a", "1", "expiresAt", n("9")), "", nil, nil)},
			put(item("a", "1"), notExistsOrExpired, map[string]ddbtypes.AttributeValue{":now": n("10")}, names), ""},
		{"a live item is not taken over", []step{put(item("a", "1", "expiresAt", n("1000")), "", nil, nil)},
			put(item("a", "1"), notExistsOrExpired, map[string]ddbtypes.AttributeValue{":now": n("999")}, names), "ConditionalCheckFailedException"},
		{"a comparison with a missing attribute is false", []step{put(item("a", "1"), "", nil, nil)},
			put(item("a", "1"), "#exp <= :now", map[string]ddbtypes.AttributeValue{":now": n("1")}, map[string]string{"#exp": "expiresAt"}), "ConditionalCheckFailedException"},
		{"a comparison across types is false", []step{put(item("a", "1", "expiresAt", s("1")), "", nil, nil)},
			put(item("a", "1"), "#exp <= :now", map[string]ddbtypes.AttributeValue{":now": n("5")}, map[string]string{"#exp": "expiresAt"}), "ConditionalCheckFailedException"},
		{"AND binds tighter than OR", []step{put(item("a", "1", "owner", s("x"), "state", s("held")), "", nil, nil)},
			put(item("a", "1"), "#o = :y AND #s = :held OR #o = :x AND #s = :taking",
				map[string]ddbtypes.AttributeValue{":x": s("x"), ":y": s("y"), ":held": s("held"), ":taking": s("taking")},
				map[string]string{"#o": "owner", "#s": "state"}), "ConditionalCheckFailedException"},
		{"unused value", nil, put(item("a", "1"), "attribute_not_exists(#pk)", map[string]ddbtypes.AttributeValue{":x": n("1")}, map[string]string{"#pk": "pk"}), "ValidationException"},
		{"unused name", nil, put(item("a", "1"), "attribute_not_exists(#pk)", nil, map[string]string{"#pk": "pk", "#x": "x"}), "ValidationException"},
		{"undefined value", nil, put(item("a", "1"), "#pk = :v", nil, map[string]string{"#pk": "pk"}), "ValidationException"},
		{"missing sort key", nil, put(map[string]ddbtypes.AttributeValue{"pk": s("a")}, "", nil, nil), "ValidationException"},
		{"key of the wrong type", nil, put(map[string]ddbtypes.AttributeValue{"pk": s("a"), "sk": n("1")}, "", nil, nil), "ValidationException"},
		{"empty key", nil, put(item("a", ""), "", nil, nil), "ValidationException"},
		{"no such table", nil, func(c awsapi.DynamoDB, _ string) error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("no-such-table"), Key: key("a", "1")})
			return err
		}, "ResourceNotFoundException"},
		{"get with a partial key", nil, func(c awsapi.DynamoDB, tbl string) error {
			_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tbl), Key: map[string]ddbtypes.AttributeValue{"pk": s("a")}})
			return err
		}, "ValidationException"},
		{"update a key attribute", nil, func(c awsapi.DynamoDB, tbl string) error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(tbl), Key: key("a", "1"),
				UpdateExpression: aws.String("SET #sk = :v"), ExpressionAttributeNames: map[string]string{"#sk": "sk"},
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": s("2")}})
			return err
		}, "ValidationException"},
		{"update with a failing condition", []step{put(item("a", "1", "owner", s("x")), "", nil, nil)}, func(c awsapi.DynamoDB, tbl string) error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(tbl), Key: key("a", "1"),
				UpdateExpression: aws.String("SET #o = :me"), ConditionExpression: aws.String("#o = :them"),
				ExpressionAttributeNames:  map[string]string{"#o": "owner"},
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":me": s("y"), ":them": s("z")}})
			return err
		}, "ConditionalCheckFailedException"},
		{"delete with a failing condition", []step{put(item("a", "1", "owner", s("x")), "", nil, nil)}, func(c awsapi.DynamoDB, tbl string) error {
			_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(tbl), Key: key("a", "1"),
				ConditionExpression: aws.String("#o = :me"), ExpressionAttributeNames: map[string]string{"#o": "owner"},
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":me": s("y")}})
			return err
		}, "ConditionalCheckFailedException"},
		{"delete an item that does not exist", nil, func(c awsapi.DynamoDB, tbl string) error {
			_, err := c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(tbl), Key: key("a", "1")})
			return err
		}, ""},
		{"SET twice in one expression", nil, func(c awsapi.DynamoDB, tbl string) error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(tbl), Key: key("a", "1"),
				UpdateExpression: aws.String("SET #o = :v SET #p = :v"), ExpressionAttributeNames: map[string]string{"#o": "o", "#p": "p"},
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": s("2")}})
			return err
		}, "ValidationException"},
		{"one attribute twice", nil, func(c awsapi.DynamoDB, tbl string) error {
			_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(tbl), Key: key("a", "1"),
				UpdateExpression: aws.String("SET #o = :v REMOVE #o"), ExpressionAttributeNames: map[string]string{"#o": "o"},
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": s("2")}})
			return err
		}, "ValidationException"},
		{"query without the partition key", nil, func(c awsapi.DynamoDB, tbl string) error {
			_, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(tbl), KeyConditionExpression: aws.String("#sk = :v"),
				ExpressionAttributeNames: map[string]string{"#sk": "sk"}, ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": s("1")}})
			return err
		}, "ValidationException"},
	}
	for _, tc := range tests {
		for name, open := range backends(t) {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				c, tbl := open()
				for _, st := range tc.setup {
					if err := st(c, tbl); err != nil {
						t.Fatalf("setup: %v", err)
					}
				}
				err := tc.run(c, tbl)
				if got := errCode(err); got != tc.want {
					t.Fatalf("error %q (%v), want %q", got, err, tc.want)
				}
				if tc.want == "ConditionalCheckFailedException" {
					var ccf *ddbtypes.ConditionalCheckFailedException
					if !errors.As(err, &ccf) {
						t.Errorf("%T is not the SDK's ConditionalCheckFailedException", err)
					}
				}
			})
		}
	}
}

func errCode(err error) string {
	if err == nil {
		return ""
	}
	var ae interface{ ErrorCode() string }
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "not an API error: " + err.Error()
}

// The read paths and counters the guard relies on give the same answers.
func TestDynamoDBReadsAndCountersAgainstDynalite(t *testing.T) {
	ctx := context.Background()
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			c, tbl := open()
			for _, sk := range []string{"slot#002", "slot#000", "slot#001", "hold#x"} {
				if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tbl), Item: item("slots", sk, "n", n("1"))}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tbl), Item: item("other", "slot#000")}); err != nil {
				t.Fatal(err)
			}
			q, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(tbl), ConsistentRead: aws.Bool(true),
				KeyConditionExpression:    aws.String("#pk = :pk AND begins_with(#sk, :slot)"),
				ExpressionAttributeNames:  map[string]string{"#pk": "pk", "#sk": "sk"},
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": s("slots"), ":slot": s("slot#")}})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range q.Items {
				got = append(got, it["sk"].(*ddbtypes.AttributeValueMemberS).Value)
			}
			if strings.Join(got, " ") != "slot#000 slot#001 slot#002" || q.Count != 3 {
				t.Errorf("query = %v (count %d), want the three slots of the partition in order", got, q.Count)
			}
			g, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tbl), Key: key("slots", "nope"), ConsistentRead: aws.Bool(true)})
			if err != nil || g.Item != nil {
				t.Errorf("get of a missing item = %v, %v; want no item, no error", g.Item, err)
			}
			for want := 1; want <= 2; want++ {
				u, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(tbl), Key: key("report", "partial"),
					UpdateExpression: aws.String("ADD #n :one SET #exp = :exp"), ReturnValues: ddbtypes.ReturnValueUpdatedNew,
					ExpressionAttributeNames:  map[string]string{"#n": "attempts", "#exp": "expiresAt"},
					ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":one": n("1"), ":exp": n("1700000000")}})
				if err != nil {
					t.Fatal(err)
				}
				if got := u.Attributes["attempts"].(*ddbtypes.AttributeValueMemberN).Value; got != fmt.Sprint(want) {
					t.Errorf("attempts = %s, want %d", got, want)
				}
				if _, ok := u.Attributes["pk"]; ok {
					t.Errorf("UPDATED_NEW returned the key: %v", u.Attributes)
				}
			}
			g, err = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(tbl), Key: key("report", "partial"), ConsistentRead: aws.Bool(true)})
			if err != nil || len(g.Item) != 4 {
				t.Errorf("item made by UpdateItem = %v, %v; want its key, attempts and expiresAt", g.Item, err)
			}
		})
	}
}

// What the model does not read it refuses, rather than misread.
func TestDynamoDBModelRefusesWhatItDoesNotModel(t *testing.T) {
	ctx := context.Background()
	w := awsfake.New(account, region)
	w.AddTable(awsfake.TableSpec{Name: "guard", PartitionKey: "pk", SortKey: "sk"})
	c := w.Clients().DynamoDB
	for _, cond := range []string{
		"attribute_not_exists(pk)",    // plain names
		"#a <> :v",                    // not modelled
		"#a BETWEEN :v AND :v",        // not modelled
		"size(#a) > :v",               // not modelled
		"attribute_not_exists(#a",     // syntax
		"#a = :v OR",                  // syntax
		"#a.b = :v",                   // document path
		"attribute_not_exists(#a) :v", // trailing
	} {
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("guard"), Item: item("a", "1"), ConditionExpression: aws.String(cond),
			ExpressionAttributeNames: map[string]string{"#a": "a"}, ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": n("1")}})
		if errCode(err) != "ValidationException" {
			t.Errorf("%q: %v, want a ValidationException", cond, err)
		}
	}
	if len(w.Items("guard")) != 0 {
		t.Errorf("a refused request wrote: %v", w.Items("guard"))
	}
	w.FailAlways("PutItem", "ThrottlingException")
	_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("guard"), Item: item("a", "1")})
	if errCode(err) != "ThrottlingException" || !strings.Contains(err.Error(), "Throughput exceeds") {
		t.Errorf("throttled put: %v", err)
	}
	w.FailAlways("PutItem", "")
	w.Deny("GetItem")
	_, err = c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("guard"), Key: key("a", "1")})
	if errCode(err) != "AccessDeniedException" {
		t.Errorf("denied get: %v", err)
	}
}
