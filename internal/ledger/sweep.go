package ledger

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
)

// kindSweep is where a scheduled sweep stopped, one item per Region:
//
//	sweep   sweep#<region>                             cursor
const kindSweep = "sweep"

const (
	attrAccount = "account"
	attrToken   = "token"
)

// Cursor is where an unfinished sweep of contained instances stopped: the
// account it was listing and DescribeInstances' NextToken. The next sweep
// continues from it; a sweep that finishes clears it.
type Cursor struct {
	Account, Token string
}

// SweepCursors keeps the cursor of each Region's sweep.
type SweepCursors struct {
	t         table
	retention time.Duration
	now       func() time.Time
}

// NewSweepCursors returns the sweep cursors in the table. A cursor older than
// retention is ignored (its token would have gone stale): the sweep starts over.
func NewSweepCursors(db awsapi.DynamoDB, name string, retention time.Duration, now func() time.Time) *SweepCursors {
	if now == nil {
		now = time.Now
	}
	return &SweepCursors{t: table{db: db, name: name}, retention: retention, now: now}
}

func sweepKey(region string) item { return key(pk(kindSweep, region), "cursor") }

// Load returns the Region's cursor, or the zero Cursor to start from the beginning.
func (s *SweepCursors) Load(ctx context.Context, region string) (Cursor, error) {
	it, err := s.t.get(ctx, sweepKey(region))
	if err != nil {
		return Cursor{}, wrap("reading the sweep cursor of "+region, err)
	}
	if !it.live(s.now()) {
		return Cursor{}, nil
	}
	return Cursor{Account: it.str(attrAccount), Token: it.str(attrToken)}, nil
}

// Save records where the sweep stopped.
func (s *SweepCursors) Save(ctx context.Context, region string, c Cursor) error {
	it := sweepKey(region)
	it[attrAccount], it[attrToken] = str(c.Account), str(c.Token)
	it[attrExpires] = num(s.now().Add(s.retention).Unix())
	// Unconditional: one sweep runs at a time (the schedule), and the
	// latest position is the one to keep.
	_, err := s.t.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.t.name), Item: it})
	return wrap("recording the sweep cursor of "+region, err)
}

// Clear forgets the cursor: the next sweep starts from the beginning.
func (s *SweepCursors) Clear(ctx context.Context, region string) error {
	_, err := s.t.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.t.name), Key: sweepKey(region)})
	return wrap("clearing the sweep cursor of "+region, err)
}
