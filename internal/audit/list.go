package audit

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/store"
)

// Filter selects events for List. Empty fields do not filter.
type Filter struct {
	SubjectID string
	Action    string
	Actor     string
	Since     time.Time // at or after
	Until     time.Time // before
	Cursor    string    // NextCursor of the previous page
	Limit     int       // 1..1000, default 100
}

// StoredEvent is an event as the log holds it.
type StoredEvent struct {
	Event
	Shard int
	Seq   int64
	Hash  []byte
}

// Page is one page of List, newest first.
type Page struct {
	Events []StoredEvent
	// NextCursor fetches the next (older) page; empty on the last page.
	NextCursor string
}

// ErrBadCursor means a cursor was not made by List.
var ErrBadCursor = errors.New("audit: malformed cursor")

// List returns the tenant's events matching f, newest first. Paging is by
// keyset (time, shard, seq), so pages stay stable while events are added
// and deep pages cost what the first does.
func List(ctx context.Context, st store.Store, tenantID string, f Filter) (Page, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = store.DefaultAuditList
	}
	limit = min(limit, store.MaxAuditList)
	sf := store.AuditFilter{SubjectID: f.SubjectID, Action: f.Action, Actor: f.Actor, Since: f.Since, Until: f.Until}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return Page{}, err
		}
		sf.Before = &c
	}
	// One more than asked tells whether another page exists.
	sf.Limit = min(limit+1, store.MaxAuditList)
	var rows []store.AuditEvent
	err := st.Read(ctx, func(tx store.Tx) error {
		var err error
		rows, err = tx.ListAuditEvents(tenantID, sf)
		return err
	})
	if err != nil {
		return Page{}, fmt.Errorf("audit: %w", err)
	}
	var p Page
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	p.Events = make([]StoredEvent, len(rows))
	for i, r := range rows {
		p.Events[i] = stored(r)
	}
	if more || (len(rows) == limit && sf.Limit == limit) {
		last := rows[len(rows)-1]
		p.NextCursor = encodeCursor(store.AuditCursor{At: last.At, Shard: last.Shard, Seq: last.Seq})
	}
	return p, nil
}

func stored(r store.AuditEvent) StoredEvent {
	return StoredEvent{
		Event: Event{
			Actor: r.Actor, Role: r.Role, Action: r.Action, SubjectID: r.SubjectID, Purpose: r.Purpose,
			Outcome: r.Outcome, Reason: r.Reason, RequestID: r.RequestID, Fields: r.Fields, Categories: r.Categories,
			At: r.At,
		},
		Shard: r.Shard, Seq: r.Seq, Hash: r.Hash,
	}
}

// Cursors are "v1.<micros>.<shard>.<seq>" in unpadded base64url: opaque to
// clients, and revealing nothing they could not see in the page itself.
func encodeCursor(c store.AuditCursor) string {
	s := "v1." + strconv.FormatInt(c.At.UnixMicro(), 10) + "." + strconv.Itoa(c.Shard) + "." + strconv.FormatInt(c.Seq, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func decodeCursor(s string) (store.AuditCursor, error) {
	if len(s) > 128 {
		return store.AuditCursor{}, ErrBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.AuditCursor{}, ErrBadCursor
	}
	parts := strings.Split(string(b), ".")
	if len(parts) != 4 || parts[0] != "v1" {
		return store.AuditCursor{}, ErrBadCursor
	}
	us, err1 := strconv.ParseInt(parts[1], 10, 64)
	shard, err2 := strconv.Atoi(parts[2])
	seq, err3 := strconv.ParseInt(parts[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || us < 0 || shard < 0 || shard >= store.MaxAuditShards || seq < 1 {
		return store.AuditCursor{}, ErrBadCursor
	}
	return store.AuditCursor{At: time.UnixMicro(us).UTC(), Shard: shard, Seq: seq}, nil
}
