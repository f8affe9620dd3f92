package awsfake

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/firebreak-ir/firebreak/internal/contract"
)

// DynamoDB is the fake Amazon DynamoDB API (awsapi.DynamoDB): tables with a
// string partition key and an optional string sort key, strongly consistent
// (a read after a write always sees it, as ConsistentRead does), items kept
// until deleted. TTL deletion is not modelled: DynamoDB deletes expired items
// only within days, so code must treat an expired item as absent itself.
type DynamoDB struct{ w *World }

// TableSpec describes a table to seed.
type TableSpec struct {
	Name         string
	PartitionKey string
	// SortKey is empty for a table with a partition key only.
	SortKey string
}

type table struct {
	spec  TableSpec
	items map[string]map[string]ddbtypes.AttributeValue // by itemKey
}

// Limits DynamoDB enforces that the model checks.
const (
	maxItemBytes  = 400 * 1024
	maxQueryBytes = 1 << 20
)

// AddTable creates an ACTIVE table.
func (w *World) AddTable(spec TableSpec) {
	if spec.Name == "" || spec.PartitionKey == "" {
		panic("awsfake: a table needs a name and a partition key")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tables.put(spec.Name, &table{spec: spec, items: map[string]map[string]ddbtypes.AttributeValue{}})
}

// AddGuardTable creates a table with the guard's key schema (internal/ledger).
func (w *World) AddGuardTable(name string) {
	w.AddTable(TableSpec{Name: name, PartitionKey: contract.GuardPartitionKey, SortKey: contract.GuardSortKey})
}

// Items returns copies of a table's items in key order (nil for no table).
func (w *World) Items(tableName string) []map[string]ddbtypes.AttributeValue {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.tables.get(tableName)
	if !ok {
		return nil
	}
	out := []map[string]ddbtypes.AttributeValue{}
	for _, k := range slices.Sorted(maps.Keys(t.items)) {
		out = append(out, cloneItem(t.items[k]))
	}
	return out
}

func errValidation(format string, args ...any) error {
	return apiError("ValidationException", format, args...)
}

func errConditionFailed(old map[string]ddbtypes.AttributeValue, rv ddbtypes.ReturnValuesOnConditionCheckFailure) error {
	e := &ddbtypes.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
	if rv == ddbtypes.ReturnValuesOnConditionCheckFailureAllOld {
		e.Item = cloneItem(old)
	}
	return e
}

func (w *World) table(name *string) (*table, error) {
	if aws.ToString(name) == "" {
		return nil, errValidation("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null")
	}
	t, ok := w.tables.get(*name)
	if !ok {
		return nil, &ddbtypes.ResourceNotFoundException{Message: aws.String("Requested resource not found")}
	}
	return t, nil
}

func (t *table) keyNames() []string {
	if t.spec.SortKey == "" {
		return []string{t.spec.PartitionKey}
	}
	return []string{t.spec.PartitionKey, t.spec.SortKey}
}

// itemKey checks that attrs carry the key (every key attribute a non-empty
// string) and encodes it; exact requires attrs to be the key alone.
func (t *table) itemKey(attrs map[string]ddbtypes.AttributeValue, exact bool) (string, error) {
	var parts []string
	for _, k := range t.keyNames() {
		v, ok := attrs[k]
		if !ok {
			if exact {
				return "", errValidation("The provided key element does not match the schema")
			}
			return "", errValidation("One or more parameter values were invalid: Missing the key %s in the item", k)
		}
		s, ok := v.(*ddbtypes.AttributeValueMemberS)
		if !ok {
			if exact {
				return "", errValidation("The provided key element does not match the schema")
			}
			return "", errValidation("One or more parameter values were invalid: Type mismatch for key %s expected: S actual: %s", k, shortType(v))
		}
		if s.Value == "" {
			return "", errValidation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: %s", k)
		}
		parts = append(parts, s.Value)
	}
	if exact && len(attrs) != len(parts) {
		return "", errValidation("The provided key element does not match the schema")
	}
	return strings.Join(parts, "\x00"), nil
}

func shortType(v ddbtypes.AttributeValue) string {
	switch v.(type) {
	case *ddbtypes.AttributeValueMemberN:
		return "N"
	case *ddbtypes.AttributeValueMemberB:
		return "B"
	case *ddbtypes.AttributeValueMemberBOOL:
		return "BOOL"
	}
	return typeName(v)
}

// expressions parses a request's condition (and update) against its
// placeholders and applies DynamoDB's checks on them.
func expressions(cond, upd *string, names map[string]string, values map[string]ddbtypes.AttributeValue) (condition, *update, error) {
	if cond == nil && upd == nil && (names != nil || values != nil) {
		return nil, nil, errValidation("ExpressionAttributeNames and ExpressionAttributeValues can only be specified when using expressions")
	}
	p := newExprParams(names, values)
	var c condition
	var u *update
	if upd != nil {
		parsed, err := parseUpdate(*upd, p)
		if err != nil {
			return nil, nil, err
		}
		u = &parsed
	}
	if cond != nil {
		var err error
		if c, err = parseCondition(*cond, "ConditionExpression", p); err != nil {
			return nil, nil, err
		}
	}
	if err := p.unused(); err != nil {
		return nil, nil, err
	}
	return c, u, nil
}

func itemBytes(item map[string]ddbtypes.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + valueBytes(v)
	}
	return n
}

func valueBytes(v ddbtypes.AttributeValue) int {
	switch x := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return len(x.Value)
	case *ddbtypes.AttributeValueMemberN:
		return len(x.Value)/2 + 1
	case *ddbtypes.AttributeValueMemberB:
		return len(x.Value)
	case *ddbtypes.AttributeValueMemberSS:
		n := 0
		for _, s := range x.Value {
			n += len(s)
		}
		return n
	case *ddbtypes.AttributeValueMemberM:
		return 3 + itemBytes(x.Value)
	case *ddbtypes.AttributeValueMemberL:
		n := 3
		for _, e := range x.Value {
			n += 1 + valueBytes(e)
		}
		return n
	}
	return 1
}

func legacy(present bool, name string) error {
	if present {
		return errValidation("%s (a legacy parameter) is not modelled by this in-memory DynamoDB: use expressions", name)
	}
	return nil
}

// GetItem reads one item by its full key.
func (c *DynamoDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return call(ctx, c.w, svcDynamoDB, "GetItem", in, func(in *dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) {
		t, err := c.w.table(in.TableName)
		if err != nil {
			return nil, err
		}
		if in.ProjectionExpression != nil || in.AttributesToGet != nil || in.ExpressionAttributeNames != nil {
			return nil, errValidation("projections are not modelled by this in-memory DynamoDB")
		}
		key, err := t.itemKey(in.Key, true)
		if err != nil {
			return nil, err
		}
		return &dynamodb.GetItemOutput{Item: cloneItem(t.items[key])}, nil
	})
}

// PutItem writes a whole item, if its condition holds on the one it replaces.
func (c *DynamoDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return call(ctx, c.w, svcDynamoDB, "PutItem", in, func(in *dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) {
		t, err := c.w.table(in.TableName)
		if err != nil {
			return nil, err
		}
		if err := firstErr(legacy(in.Expected != nil || in.ConditionalOperator != "", "Expected")); err != nil {
			return nil, err
		}
		if rv := in.ReturnValues; rv != "" && rv != ddbtypes.ReturnValueNone && rv != ddbtypes.ReturnValueAllOld {
			return nil, errValidation("ReturnValues can only be ALL_OLD or NONE")
		}
		key, err := t.itemKey(in.Item, false)
		if err != nil {
			return nil, err
		}
		if itemBytes(in.Item) > maxItemBytes {
			return nil, errValidation("Item size has exceeded the maximum allowed size")
		}
		cond, _, err := expressions(in.ConditionExpression, nil, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
		if err != nil {
			return nil, err
		}
		old := t.items[key]
		if cond != nil && !cond(old) {
			return nil, errConditionFailed(old, in.ReturnValuesOnConditionCheckFailure)
		}
		t.items[key] = cloneItem(in.Item)
		out := &dynamodb.PutItemOutput{}
		if in.ReturnValues == ddbtypes.ReturnValueAllOld {
			out.Attributes = cloneItem(old)
		}
		return out, nil
	})
}

// UpdateItem changes (or creates) one item by its full key.
func (c *DynamoDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return call(ctx, c.w, svcDynamoDB, "UpdateItem", in, func(in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
		t, err := c.w.table(in.TableName)
		if err != nil {
			return nil, err
		}
		if err := firstErr(legacy(in.Expected != nil || in.ConditionalOperator != "", "Expected"), legacy(in.AttributeUpdates != nil, "AttributeUpdates")); err != nil {
			return nil, err
		}
		switch in.ReturnValues {
		case "", ddbtypes.ReturnValueNone, ddbtypes.ReturnValueAllOld, ddbtypes.ReturnValueAllNew, ddbtypes.ReturnValueUpdatedOld, ddbtypes.ReturnValueUpdatedNew:
		default:
			return nil, errValidation("1 validation error detected: Value '%s' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]", in.ReturnValues)
		}
		key, err := t.itemKey(in.Key, true)
		if err != nil {
			return nil, err
		}
		cond, upd, err := expressions(in.ConditionExpression, in.UpdateExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
		if err != nil {
			return nil, err
		}
		var touched []string
		if upd != nil {
			touched = upd.attrs()
			for _, a := range touched {
				if slices.Contains(t.keyNames(), a) {
					return nil, errValidation("One or more parameter values were invalid: Cannot update attribute %s. This attribute is part of the key", a)
				}
			}
		}
		old := t.items[key]
		if cond != nil && !cond(old) {
			return nil, errConditionFailed(old, in.ReturnValuesOnConditionCheckFailure)
		}
		next := cloneItem(old)
		if upd != nil {
			if next, err = upd.apply(old); err != nil {
				return nil, err
			}
		}
		if next == nil {
			next = map[string]ddbtypes.AttributeValue{}
		}
		maps.Copy(next, cloneItem(in.Key))
		if itemBytes(next) > maxItemBytes {
			return nil, errValidation("Item size to update has exceeded the maximum allowed size")
		}
		t.items[key] = next
		out := &dynamodb.UpdateItemOutput{}
		pick := func(item map[string]ddbtypes.AttributeValue) map[string]ddbtypes.AttributeValue {
			m := map[string]ddbtypes.AttributeValue{}
			for _, a := range touched {
				if v, ok := item[a]; ok {
					m[a] = cloneValue(v)
				}
			}
			if len(m) == 0 {
				return nil
			}
			return m
		}
		switch in.ReturnValues {
		case ddbtypes.ReturnValueAllOld:
			out.Attributes = cloneItem(old)
		case ddbtypes.ReturnValueAllNew:
			out.Attributes = cloneItem(next)
		case ddbtypes.ReturnValueUpdatedOld:
			out.Attributes = pick(old)
		case ddbtypes.ReturnValueUpdatedNew:
			out.Attributes = pick(next)
		}
		return out, nil
	})
}

// DeleteItem removes one item by its full key, if its condition holds;
// deleting an item that does not exist succeeds.
func (c *DynamoDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return call(ctx, c.w, svcDynamoDB, "DeleteItem", in, func(in *dynamodb.DeleteItemInput) (*dynamodb.DeleteItemOutput, error) {
		t, err := c.w.table(in.TableName)
		if err != nil {
			return nil, err
		}
		if err := firstErr(legacy(in.Expected != nil || in.ConditionalOperator != "", "Expected")); err != nil {
			return nil, err
		}
		if rv := in.ReturnValues; rv != "" && rv != ddbtypes.ReturnValueNone && rv != ddbtypes.ReturnValueAllOld {
			return nil, errValidation("ReturnValues can only be ALL_OLD or NONE")
		}
		key, err := t.itemKey(in.Key, true)
		if err != nil {
			return nil, err
		}
		cond, _, err := expressions(in.ConditionExpression, nil, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
		if err != nil {
			return nil, err
		}
		old := t.items[key]
		if cond != nil && !cond(old) {
			return nil, errConditionFailed(old, in.ReturnValuesOnConditionCheckFailure)
		}
		delete(t.items, key)
		out := &dynamodb.DeleteItemOutput{}
		if in.ReturnValues == ddbtypes.ReturnValueAllOld {
			out.Attributes = cloneItem(old)
		}
		return out, nil
	})
}

// Query reads the items of one partition in sort-key order, 1 MB at a time.
// The key condition is "#pk = :v", optionally followed by AND and one
// condition on the sort key (=, <, <=, >, >= or begins_with).
func (c *DynamoDB) Query(ctx context.Context, in *dynamodb.QueryInput, _ ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return call(ctx, c.w, svcDynamoDB, "Query", in, func(in *dynamodb.QueryInput) (*dynamodb.QueryOutput, error) {
		t, err := c.w.table(in.TableName)
		if err != nil {
			return nil, err
		}
		switch {
		case in.IndexName != nil || in.FilterExpression != nil || in.ProjectionExpression != nil || in.Select != "" ||
			in.AttributesToGet != nil || (in.ScanIndexForward != nil && !*in.ScanIndexForward):
			return nil, errValidation("indexes, filters, projections and descending queries are not modelled by this in-memory DynamoDB")
		case in.KeyConditions != nil || in.QueryFilter != nil:
			return nil, legacy(true, "KeyConditions")
		case in.KeyConditionExpression == nil:
			return nil, errValidation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
		case in.Limit != nil && *in.Limit < 1:
			return nil, errValidation("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1", *in.Limit)
		}
		partition, match, err := t.keyCondition(*in.KeyConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
		if err != nil {
			return nil, err
		}
		var start string
		if in.ExclusiveStartKey != nil {
			if start, err = t.itemKey(in.ExclusiveStartKey, true); err != nil {
				return nil, err
			}
		}
		out := &dynamodb.QueryOutput{Items: []map[string]ddbtypes.AttributeValue{}}
		size := 0
		for _, k := range slices.Sorted(maps.Keys(t.items)) {
			item := t.items[k]
			if item[t.spec.PartitionKey].(*ddbtypes.AttributeValueMemberS).Value != partition || (start != "" && k <= start) || !match(item) {
				continue
			}
			out.Items = append(out.Items, cloneItem(item))
			size += itemBytes(item)
			if size >= maxQueryBytes || (in.Limit != nil && len(out.Items) == int(*in.Limit)) {
				out.LastEvaluatedKey = map[string]ddbtypes.AttributeValue{}
				for _, a := range t.keyNames() {
					out.LastEvaluatedKey[a] = cloneValue(item[a])
				}
				break
			}
		}
		out.Count = int32(len(out.Items))
		out.ScannedCount = out.Count
		return out, nil
	})
}

// keyCondition reads a Query's key condition: the partition it names and
// what the sort key must satisfy.
func (t *table) keyCondition(expr string, names map[string]string, values map[string]ddbtypes.AttributeValue) (string, condition, error) {
	const what = "KeyConditionExpression"
	p := newExprParams(names, values)
	head, rest, _ := cutWord(expr, "AND")
	toks, err := tokenize(head)
	if err != nil {
		return "", nil, errValidation("Invalid %s: %v", what, err)
	}
	ps := &parser{toks: toks, p: p, what: what}
	attr, err := ps.name()
	if err != nil {
		return "", nil, err
	}
	if attr != t.spec.PartitionKey {
		return "", nil, errValidation("Query condition missed key schema element: %s", t.spec.PartitionKey)
	}
	if err := ps.expect("="); err != nil {
		return "", nil, err
	}
	v, err := ps.value()
	if err != nil {
		return "", nil, err
	}
	if t := ps.peek(); t.kind != tokEOF {
		return "", nil, ps.syntax(t)
	}
	pv, ok := v.(*ddbtypes.AttributeValueMemberS)
	if !ok {
		return "", nil, errValidation("One or more parameter values were invalid: Condition parameter type does not match schema type")
	}
	match := condition(func(map[string]ddbtypes.AttributeValue) bool { return true })
	if strings.TrimSpace(rest) != "" {
		if t.spec.SortKey == "" {
			return "", nil, errValidation("Query key condition not supported")
		}
		if match, err = parseCondition(rest, what, p); err != nil {
			return "", nil, err
		}
		for k := range p.usedNames {
			if k != "" && names[k] != t.spec.PartitionKey && names[k] != t.spec.SortKey {
				return "", nil, errValidation("Query key condition not supported")
			}
		}
		if _, _, more := cutWord(rest, "AND"); more || containsWord(rest, "OR") || containsWord(rest, "NOT") {
			return "", nil, errValidation("Invalid %s: only one condition on the sort key is allowed", what)
		}
	}
	if err := p.unused(); err != nil {
		return "", nil, err
	}
	return pv.Value, match, nil
}

// cutWord splits s around the first whole word w (any case).
func cutWord(s, w string) (before, after string, found bool) {
	fields := strings.Fields(s)
	for i, f := range fields {
		if strings.EqualFold(f, w) {
			return strings.Join(fields[:i], " "), strings.Join(fields[i+1:], " "), true
		}
	}
	return s, "", false
}

func containsWord(s, w string) bool {
	_, _, found := cutWord(s, w)
	return found
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
