package awssim_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/firebreak-ir/firebreak/internal/awsfake"
	"github.com/firebreak-ir/firebreak/internal/awssim"
)

func dynamoSim(t *testing.T, opts ...awssim.Option) (*awsfake.World, *awssim.Server, *dynamodb.Client) {
	t.Helper()
	w := awsfake.New("123456789012", "us-east-1")
	w.AddGuardTable("guard")
	sim := startSim(t, awssim.Backend{Clients: w.Clients(), STS: w.STS()}, opts...)
	return w, sim, dynamodb.NewFromConfig(sdkConfig(t, sim, 1))
}

func sv(v string) ddbtypes.AttributeValue { return &ddbtypes.AttributeValueMemberS{Value: v} }

// Every value type crosses the wire both ways, through the SDK's own codec.
func TestDynamoDBRoundTrip(t *testing.T) {
	_, _, c := dynamoSim(t)
	ctx := context.Background()
	item := map[string]ddbtypes.AttributeValue{
		"pk": sv("slots#1"), "sk": sv("slot#0000"),
		"n":    &ddbtypes.AttributeValueMemberN{Value: "1767225600"},
		"b":    &ddbtypes.AttributeValueMemberB{Value: []byte{0, 1, 0xff}},
		"ok":   &ddbtypes.AttributeValueMemberBOOL{Value: true},
		"null": &ddbtypes.AttributeValueMemberNULL{Value: true},
		"ss":   &ddbtypes.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"m": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
			"l": &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{sv("x"), &ddbtypes.AttributeValueMemberN{Value: "2"}}},
		}},
		"quote": sv("\"<é>\u0000\n"),
	}
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("guard"), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(#pk)"), ExpressionAttributeNames: map[string]string{"#pk": "pk"}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("guard"), ConsistentRead: aws.Bool(true),
		Key: map[string]ddbtypes.AttributeValue{"pk": sv("slots#1"), "sk": sv("slot#0000")}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Item, item) {
		t.Errorf("read back %#v,\nwant %#v", got.Item, item)
	}
	q, err := c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("guard"), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: aws.String("#pk = :pk"), ExpressionAttributeNames: map[string]string{"#pk": "pk"},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": sv("slots#1")}})
	if err != nil || q.Count != 1 || len(q.Items) != 1 {
		t.Fatalf("query = %+v, %v", q, err)
	}
	u, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("guard"),
		Key:              map[string]ddbtypes.AttributeValue{"pk": sv("r"), "sk": sv("attempts")},
		UpdateExpression: aws.String("ADD #n :one"), ReturnValues: ddbtypes.ReturnValueUpdatedNew,
		ExpressionAttributeNames: map[string]string{"#n": "n"}, ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":one": &ddbtypes.AttributeValueMemberN{Value: "1"}}})
	if err != nil || u.Attributes["n"].(*ddbtypes.AttributeValueMemberN).Value != "1" {
		t.Fatalf("update = %+v, %v", u, err)
	}
}

// A failed condition arrives as the SDK's own error type, with the item
// when asked for it.
func TestDynamoDBErrorsOnTheWire(t *testing.T) {
	_, _, c := dynamoSim(t)
	ctx := context.Background()
	key := map[string]ddbtypes.AttributeValue{"pk": sv("a"), "sk": sv("b")}
	put := func() error {
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("guard"), Item: key,
			ConditionExpression: aws.String("attribute_not_exists(#pk)"), ExpressionAttributeNames: map[string]string{"#pk": "pk"},
			ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld})
		return err
	}
	if err := put(); err != nil {
		t.Fatal(err)
	}
	var ccf *ddbtypes.ConditionalCheckFailedException
	if err := put(); !errors.As(err, &ccf) || ccf.ErrorMessage() != "The conditional request failed" || ccf.Item["sk"].(*ddbtypes.AttributeValueMemberS).Value != "b" {
		t.Fatalf("second put: %v (%+v), want ConditionalCheckFailedException with the item", err, ccf)
	}
	var rnf *ddbtypes.ResourceNotFoundException
	if _, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("nope"), Key: key}); !errors.As(err, &rnf) {
		t.Errorf("missing table: %v, want ResourceNotFoundException", err)
	}
	_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("guard"), Key: map[string]ddbtypes.AttributeValue{"pk": sv("a")}})
	if code(t, err) != "ValidationException" {
		t.Errorf("partial key: %v, want ValidationException", err)
	}
	// What dynalite lacks, the simulator lacks too: no transactions.
	_, err = c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
		{Put: &ddbtypes.Put{TableName: aws.String("guard"), Item: key}}}})
	if code(t, err) != "UnknownOperationException" {
		t.Errorf("TransactWriteItems: %v, want UnknownOperationException", err)
	}
}

func TestDynamoDBFaults(t *testing.T) {
	ctx := context.Background()
	key := map[string]ddbtypes.AttributeValue{"pk": sv("a"), "sk": sv("b")}
	t.Run("throttled", func(t *testing.T) {
		w, sim, c := dynamoSim(t, awssim.WithThrottleRate("dynamodb:*", 1))
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("guard"), Item: key})
		var pte *ddbtypes.ProvisionedThroughputExceededException
		if !errors.As(err, &pte) {
			t.Fatalf("put: %v, want ProvisionedThroughputExceededException", err)
		}
		if len(w.Items("guard")) != 0 || sim.Stats()["dynamodb:PutItem"].Throttled != 1 {
			t.Errorf("a throttled put wrote %v (stats %+v)", w.Items("guard"), sim.Stats()["dynamodb:PutItem"])
		}
	})
	t.Run("lost answer", func(t *testing.T) {
		w, _, c := dynamoSim(t, awssim.WithLostResponseRate("dynamodb:PutItem", 1))
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("guard"), Item: key})
		if code(t, err) != "InternalServerError" || len(w.Items("guard")) != 1 {
			t.Fatalf("put: %v with %d items, want InternalServerError after the write", err, len(w.Items("guard")))
		}
	})
}

func TestDynamoDBMalformedBody(t *testing.T) {
	_, sim, _ := dynamoSim(t)
	req, _ := http.NewRequest(http.MethodPost, sim.Endpoint()+"/", strings.NewReader(`{"TableName": 7}`))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.GetItem")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDSIMULATOR/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := sim.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"__type":"com.amazonaws.dynamodb.v20120810#SerializationException"`) {
		t.Errorf("HTTP %d %s", resp.StatusCode, body)
	}
}

func code(t *testing.T, err error) string {
	t.Helper()
	var ae interface{ ErrorCode() string }
	if !errors.As(err, &ae) {
		return ""
	}
	return ae.ErrorCode()
}
