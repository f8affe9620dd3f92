package ledger

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/firebreak-ir/firebreak/internal/awsapi"
)

// Guard is the blast-radius guard: at most Cap automatic containments per
// account and Region in any Window. The cap is Cap slot items per scope;
// a containment holds one slot until takenAt + Window, so "a free slot
// exists" is exactly "fewer than Cap containments in the last Window".
//
// Taking a token, all at once (one round trip in the common case):
//
//  1. a conditional put of the instance's hold item (absent or expired),
//     which lets one invocation per instance take a slot;
//  2. a consistent query of the scope's slots;
//  3. a conditional write on one random slot (absent or expired).
//
// Then: the hold was another invocation's (a retry, a duplicate delivery, a
// re-published or new finding) -> the slot it holds for the instance is
// this containment's too ("already counted"), and the slot written in 3 is
// given back. The slot in 3 was busy -> another free slot from the query,
// re-querying after each miss (each miss means another take succeeded, so
// at most Cap misses); no free slot -> held: nothing may change.
//
// A crash between the hold and the slot leaves a hold without a slot: after
// its lease (Lease) another invocation for the instance takes it over. A
// crash (or an abandoned, late-landing write) after the slot leaves a slot
// nobody gives back: the instance's next take adopts it, and if no event for
// that instance comes, one slot is lost until it expires. Never more than
// Cap tokens: each is one slot item's live holder.
type Guard struct {
	t      table
	cap    int
	window time.Duration
	opt    GuardOptions
}

// GuardOptions are the guard's timings.
type GuardOptions struct {
	// Lease bounds one take (its context's deadline): a hold older than
	// that without a slot is abandoned, and another invocation takes it over.
	Lease time.Duration
	// Poll is the first wait before looking again for the slot a concurrent
	// invocation is taking for the same instance (doubling).
	Poll time.Duration
	Now  func() time.Time
}

// Outcomes of the guard, as reports carry them.
const (
	// Taken: this containment took a token.
	Taken = "taken"
	// AlreadyCounted: the instance already holds a token in the window (a
	// retry, a duplicate delivery, a re-published or new finding).
	AlreadyCounted = "already-counted"
	// Returned: taken, then given back because the run changed nothing.
	Returned = "returned"
	// Held: the cap is reached; nothing may change.
	Held = "held"
	// Unavailable: the table could not be read or written; nothing may
	// change, and the invocation fails so Lambda retries.
	Unavailable = "unavailable"
	// Counted: a person's request, recorded, never capped.
	Counted = "counted"
	// NotNeeded: the run changed nothing, so the guard's answer (held, or
	// none) held nothing back.
	NotNeeded = "not-needed"
	// WouldTake and WouldHold: a dry run's answer, from a read.
	WouldTake = "would-take"
	WouldHold = "would-hold"
)

// Token is the guard's answer for one containment.
type Token struct {
	Outcome string
	// Count is the live automatic containments in the scope when the guard
	// last looked (this one included when taken).
	Count    int
	Slot     int
	scope    Scope
	instance string
	owner    string
}

// NewGuard returns a guard over the table.
func NewGuard(db awsapi.DynamoDB, name string, capacity int, window time.Duration, opt GuardOptions) *Guard {
	if opt.Lease == 0 {
		opt.Lease = 20 * time.Second
	}
	if opt.Poll == 0 {
		opt.Poll = 100 * time.Millisecond
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Guard{t: table{db: db, name: name}, cap: capacity, window: window, opt: opt}
}

// Cap and Window are the guard's settings.
func (g *Guard) Cap() int              { return g.cap }
func (g *Guard) Window() time.Duration { return g.window }

func slotsKey(s Scope) string { return pk(kindSlots, s.Account, s.Region) }
func slotSK(i int) string     { return fmt.Sprintf("slot#%04d", i) }
func holdKey(s Scope, instance string) item {
	return key(pk(kindHold, s.Account, s.Region, instance), "hold")
}

// slots is one consistent read of a scope's slot items.
type slots struct {
	now   time.Time
	items map[int]item
}

func (g *Guard) readSlots(ctx context.Context, s Scope, now time.Time) (slots, error) {
	items, err := g.t.query(ctx, slotsKey(s))
	if err != nil {
		return slots{}, wrap("reading the guard's slots", err)
	}
	out := slots{now: now, items: map[int]item{}}
	for _, it := range items {
		if n, err := strconv.Atoi(it.str(attrSK)[len("slot#"):]); err == nil {
			out.items[n] = it
		}
	}
	return out, nil
}

// live counts the live tokens (every slot, also beyond a lowered cap).
func (sl slots) live() int { return sl.liveBut("") }

// liveBut counts the live tokens but those of owner (a slot it gave back).
func (sl slots) liveBut(owner string) int {
	n := 0
	for _, it := range sl.items {
		if it.live(sl.now) && (owner == "" || it.str(attrOwner) != owner) {
			n++
		}
	}
	return n
}

// holding is a live slot held for the instance by owner ("": anyone).
func (sl slots) holding(instance, owner string) (int, bool) {
	for _, i := range slices.Sorted(maps.Keys(sl.items)) {
		it := sl.items[i]
		if it.live(sl.now) && it.str(attrInstance) == instance && (owner == "" || it.str(attrOwner) == owner) {
			return i, true
		}
	}
	return 0, false
}

func (sl slots) free(capacity int) []int {
	var out []int
	for i := range capacity {
		if !sl.items[i].live(sl.now) {
			out = append(out, i)
		}
	}
	return out
}

// takeSlot writes slot i for the instance if it is free.
func (g *Guard) takeSlot(ctx context.Context, s Scope, i int, instance, caseID, owner string, now time.Time) error {
	it := key(slotsKey(s), slotSK(i))
	it[attrOwner], it[attrInstance], it[attrCase] = str(owner), str(instance), str(caseID)
	it[attrTakenAt], it[attrExpires] = num(now.UnixMilli()), num(now.Add(g.window).Unix())
	return g.t.put(ctx, it, absentOrExpired(now))
}

// adopt makes slot i, held for the instance by another owner, this owner's.
func (g *Guard) adopt(ctx context.Context, s Scope, i int, instance, from, to string) error {
	_, err := g.t.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(g.t.name), Key: key(slotsKey(s), slotSK(i)),
		UpdateExpression:          aws.String("SET #owner = :to"),
		ConditionExpression:       aws.String("#owner = :from AND #instance = :instance"),
		ExpressionAttributeNames:  map[string]string{"#owner": attrOwner, "#instance": attrInstance},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":to": str(to), ":from": str(from), ":instance": str(instance)}})
	return err
}

func (g *Guard) giveSlot(ctx context.Context, s Scope, i int, owner string) error {
	err := g.t.delete(ctx, key(slotsKey(s), slotSK(i)), ownedBy(owner))
	if conditionFailed(err) {
		return nil // not ours (any more): nothing to give back
	}
	return wrap(fmt.Sprintf("giving back slot %d of %s", i, s), err)
}

func (g *Guard) dropHold(ctx context.Context, s Scope, instance, owner string) error {
	err := g.t.delete(ctx, holdKey(s, instance), ownedBy(owner))
	if conditionFailed(err) {
		return nil
	}
	return wrap("releasing the hold on "+instance, err)
}

// ErrBusy means another invocation is taking the token for the same
// instance and did not finish within the lease: a retry will find it.
var ErrBusy = errors.New("another invocation is taking the guard's token for this instance")

// firstSlot is the slot an instance tries first: spread over the slots like
// a random choice, but the same for every take of one instance, so a retry or
// a re-publication whose token sits there writes nothing more, and a run
// repeats exactly.
func firstSlot(s Scope, instance string, slots int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s.Account + "/" + s.Region + "/" + instance))
	return int(h.Sum32() % uint32(slots))
}

// Take takes a token for an automatic containment of instance, or finds the
// one the instance already holds. An error means the guard could not tell:
// nothing may change.
func (g *Guard) Take(ctx context.Context, s Scope, instance, caseID string) (Token, error) {
	ctx, cancel := context.WithTimeout(ctx, g.opt.Lease)
	defer cancel()
	now := g.opt.Now().UTC()
	owner := newOwner()
	tok := Token{scope: s, instance: instance, owner: owner}

	hold := holdKey(s, instance)
	hold[attrOwner], hold[attrCase] = str(owner), str(caseID)
	hold[attrTakenAt], hold[attrLeaseUntil] = num(now.UnixMilli()), num(now.Add(g.opt.Lease).UnixMilli())
	hold[attrExpires] = num(now.Add(g.window).Unix())
	first := firstSlot(s, instance, g.cap)

	var wg sync.WaitGroup
	var holdErr, slotErr, readErr error
	var seen slots
	wg.Go(func() { holdErr = g.t.put(ctx, hold, absentOrExpired(now)) })
	wg.Go(func() { seen, readErr = g.readSlots(ctx, s, now) })
	wg.Go(func() { slotErr = g.takeSlot(ctx, s, first, instance, caseID, owner, now) })
	wg.Wait()

	abandon := func(err error) (Token, error) {
		// Best effort, past the take's own deadline: what is left expires.
		bg, stop := context.WithTimeout(context.WithoutCancel(ctx), g.opt.Lease)
		defer stop()
		_ = g.giveSlot(bg, s, first, owner)
		_ = g.dropHold(bg, s, instance, owner)
		tok.Outcome = Unavailable
		return tok, err
	}
	if holdErr != nil && !conditionFailed(holdErr) {
		return abandon(wrap("claiming "+instance+" in the guard", holdErr))
	}
	if slotErr != nil && !conditionFailed(slotErr) {
		return abandon(wrap("taking a guard slot", slotErr))
	}
	if conditionFailed(holdErr) {
		// Another invocation's hold, or our own answered as a failure after a
		// lost response: read it, and meanwhile give back the slot written
		// blind (retaken below in the rare second case).
		var cur item
		var getErr, giveErr error
		var gw sync.WaitGroup
		gw.Go(func() { cur, getErr = g.t.get(ctx, holdKey(s, instance)) })
		if slotErr == nil {
			gw.Go(func() { giveErr = g.giveSlot(ctx, s, first, owner) })
		}
		gw.Wait()
		if err := errors.Join(wrap("reading the hold on "+instance, getErr), giveErr); err != nil {
			return abandon(err)
		}
		if cur.str(attrOwner) != owner {
			if i, ok := seen.holding(instance, cur.str(attrOwner)); ok && readErr == nil && cur.live(now) {
				tok.Outcome, tok.Slot, tok.Count = AlreadyCounted, i, seen.liveBut(owner)
				return tok, nil
			}
			return g.counted(ctx, tok, caseID, now)
		}
		if slotErr == nil {
			slotErr = errGivenBack
		}
	}
	// The hold is ours.
	if slotErr == nil {
		tok.Outcome, tok.Slot = Taken, first
		// The read ran beside the write and may or may not have seen it.
		tok.Count = seen.live()
		if seen.items[first].str(attrOwner) != owner {
			tok.Count++
		}
		return tok, nil
	}
	if readErr != nil {
		return abandon(readErr)
	}
	if errors.Is(slotErr, errGivenBack) {
		fresh, err := g.readSlots(ctx, s, now)
		if err != nil {
			return abandon(err)
		}
		return g.contend(ctx, tok, caseID, now, fresh, -1)
	}
	return g.contend(ctx, tok, caseID, now, seen, first)
}

// errGivenBack marks the blind slot given back before the hold proved ours.
var errGivenBack = errors.New("slot given back")

// contend takes a free slot from what was read, reading again after each
// miss. Each miss is another take's success, so it ends within cap misses.
func (g *Guard) contend(ctx context.Context, tok Token, caseID string, now time.Time, seen slots, tried int) (Token, error) {
	s, instance, owner := tok.scope, tok.instance, tok.owner
	for range g.cap + 2 {
		if i, ok := seen.holding(instance, owner); ok {
			// Our own write, answered as a failure after a lost response.
			tok.Outcome, tok.Slot, tok.Count = Taken, i, seen.live()
			return tok, nil
		}
		// A slot another invocation wrote for the instance is one it is giving
		// back (it lost the hold to us) or one an abandoned take left behind:
		// only the hold's owner makes the token, so it adopts the slot (the
		// giver's delete, conditional on its ownership, then fails).
		if i, ok := seen.holding(instance, ""); ok {
			err := g.adopt(ctx, s, i, instance, seen.items[i].str(attrOwner), owner)
			if err == nil {
				tok.Outcome, tok.Slot, tok.Count = Taken, i, seen.live()
				return tok, nil
			}
			if !conditionFailed(err) {
				_ = g.dropHold(context.WithoutCancel(ctx), s, instance, owner)
				tok.Outcome = Unavailable
				return tok, wrap("adopting a guard slot", err)
			}
			if seen, err = g.readSlots(ctx, s, now); err != nil {
				_ = g.dropHold(context.WithoutCancel(ctx), s, instance, owner)
				tok.Outcome = Unavailable
				return tok, err
			}
			continue
		}
		free := slices.DeleteFunc(seen.free(g.cap), func(i int) bool { return i == tried })
		if len(free) == 0 {
			// A hold left behind (the drop failed) is taken over after its lease.
			_ = g.dropHold(ctx, s, instance, owner)
			tok.Outcome, tok.Count = Held, seen.live()
			return tok, nil
		}
		tried = free[rand.IntN(len(free))]
		err := g.takeSlot(ctx, s, tried, instance, caseID, owner, now)
		if err == nil {
			tok.Outcome, tok.Slot, tok.Count = Taken, tried, seen.live()+1
			return tok, nil
		}
		if !conditionFailed(err) {
			_ = g.dropHold(context.WithoutCancel(ctx), s, instance, owner)
			tok.Outcome = Unavailable
			return tok, wrap("taking a guard slot", err)
		}
		if seen, err = g.readSlots(ctx, s, now); err != nil {
			_ = g.dropHold(context.WithoutCancel(ctx), s, instance, owner)
			tok.Outcome = Unavailable
			return tok, err
		}
		tried = -1
	}
	_ = g.dropHold(context.WithoutCancel(ctx), s, instance, owner)
	tok.Outcome = Unavailable
	return tok, fmt.Errorf("taking a guard slot in %s: no free slot held after %d tries", s, g.cap+2)
}

// counted finds the token the invocation owning the instance's hold took
// (or is taking) for it. A hold left without a slot past its lease, or gone,
// is taken over.
func (g *Guard) counted(ctx context.Context, tok Token, caseID string, now time.Time) (Token, error) {
	s, instance := tok.scope, tok.instance
	wait := g.opt.Poll
	for {
		// The hold first: a slot counts only if its writer owns the hold.
		hold, err := g.t.get(ctx, holdKey(s, instance))
		if err != nil {
			tok.Outcome = Unavailable
			return tok, wrap("reading the hold on "+instance, err)
		}
		seen, err := g.readSlots(ctx, s, now)
		if err != nil {
			tok.Outcome = Unavailable
			return tok, err
		}
		clock := g.opt.Now().UTC()
		if i, ok := seen.holding(instance, hold.str(attrOwner)); ok && hold.live(clock) {
			tok.Outcome, tok.Slot, tok.Count = AlreadyCounted, i, seen.liveBut(tok.owner)
			return tok, nil
		}
		switch {
		case !hold.live(clock) || hold.num(attrLeaseUntil) < clock.UnixMilli():
			// Gone (the other invocation was held, or gave its token back) or
			// abandoned: take the hold over and contend as its owner.
			takeover := holdKey(s, instance)
			takeover[attrOwner], takeover[attrCase] = str(tok.owner), str(caseID)
			takeover[attrTakenAt], takeover[attrLeaseUntil] = num(clock.UnixMilli()), num(clock.Add(g.opt.Lease).UnixMilli())
			takeover[attrExpires] = num(now.Add(g.window).Unix())
			c := absentOrExpired(clock)
			if hold != nil {
				c = cond{"attribute_not_exists(#pk) OR #exp <= :now OR #owner = :prev",
					map[string]string{"#pk": attrPK, "#exp": attrExpires, "#owner": attrOwner},
					map[string]ddbtypes.AttributeValue{":now": num(clock.Unix()), ":prev": str(hold.str(attrOwner))}}
			}
			err := g.t.put(ctx, takeover, c)
			if err == nil {
				return g.contend(ctx, tok, caseID, now, seen, -1)
			}
			if !conditionFailed(err) {
				tok.Outcome = Unavailable
				return tok, wrap("taking over the hold on "+instance, err)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			tok.Outcome = Unavailable
			return tok, fmt.Errorf("%w (%s): %w", ErrBusy, instance, ctx.Err())
		case <-t.C:
		}
		wait *= 2
	}
}

// Give returns a token this invocation took, because the run changed
// nothing (already contained, exempt, not found, ...). Others' tokens stay.
func (g *Guard) Give(ctx context.Context, tok *Token) error {
	if tok.Outcome != Taken {
		return nil
	}
	var wg sync.WaitGroup
	var errSlot, errHold error
	wg.Go(func() { errSlot = g.giveSlot(ctx, tok.scope, tok.Slot, tok.owner) })
	wg.Go(func() { errHold = g.dropHold(ctx, tok.scope, tok.instance, tok.owner) })
	wg.Wait()
	if err := errors.Join(errSlot, errHold); err != nil {
		return err
	}
	tok.Outcome = Returned
	tok.Count--
	return nil
}

// Peek answers a dry run: would a token be available for the instance?
// It only reads.
func (g *Guard) Peek(ctx context.Context, s Scope, instance string) (Token, error) {
	now := g.opt.Now().UTC()
	seen, err := g.readSlots(ctx, s, now)
	if err != nil {
		return Token{Outcome: Unavailable}, err
	}
	tok := Token{Outcome: WouldHold, Count: seen.live(), scope: s, instance: instance}
	if i, ok := seen.holding(instance, ""); ok {
		tok.Outcome, tok.Slot = AlreadyCounted, i
	} else if len(seen.free(g.cap)) > 0 {
		tok.Outcome = WouldTake
	}
	return tok, nil
}

// Count records a person's containment of instance: never capped, and it
// takes no slot. A repeat of the same request is recorded once.
func (g *Guard) Count(ctx context.Context, s Scope, instance, caseID string) (Token, error) {
	now := g.opt.Now().UTC()
	it := key(pk(kindManual, s.Account, s.Region, instance), "case#"+caseID)
	it[attrInstance], it[attrCase] = str(instance), str(caseID)
	it[attrTakenAt], it[attrExpires] = num(now.UnixMilli()), num(now.Add(g.window).Unix())
	err := g.t.put(ctx, it, cond{"attribute_not_exists(#pk)", map[string]string{"#pk": attrPK}, nil})
	if err != nil && !conditionFailed(err) {
		return Token{Outcome: Counted}, wrap("recording a person's containment of "+instance, err)
	}
	return Token{Outcome: Counted, scope: s, instance: instance}, nil
}
