package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trustee-privacy/trustee/internal/decide"
	"github.com/trustee-privacy/trustee/internal/identity"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/retention"
	"github.com/trustee-privacy/trustee/internal/store"
)

// FieldOut is a released field.
type FieldOut struct {
	Value       json.RawMessage `json:"value"`
	Category    string          `json:"category"`
	Source      string          `json:"source"`
	CollectedAt time.Time       `json:"collected_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// Withheld is a field (or collection) not released, and why.
type Withheld struct {
	Field    string        `json:"field"`
	Category string        `json:"category"`
	Reason   decide.Reason `json:"reason"`
	Detail   string        `json:"detail,omitempty"`
}

// View is what a purpose may see of a subject.
type View struct {
	ID             string              `json:"id"`
	State          string              `json:"state"`
	Purpose        string              `json:"purpose"`
	Anonymous      bool                `json:"anonymous"`
	CreatedAt      time.Time           `json:"created_at"`
	UpdatedAt      time.Time           `json:"updated_at"`
	LastActivityAt time.Time           `json:"last_activity_at"`
	Fields         map[string]FieldOut `json:"fields"`
	Withheld       []Withheld          `json:"withheld"`
}

// loaded is everything a purpose-scoped read needs, read in one transaction.
type loaded struct {
	subj     store.Subject
	fields   []store.FieldValue
	controls store.Controls
	// validSince is the tenant's ConsentValidSince, read only when the
	// subject has consent states it could invalidate.
	validSince map[string]int
}

// loadValidSince reads which purposes' older consents need renewal, in the
// read transaction that loaded the controls; subjects without consent
// states skip the query.
func loadValidSince(tx store.Tx, tenantID string, l *loaded) error {
	l.validSince = nil
	if len(l.controls.Consents) == 0 {
		return nil
	}
	var err error
	l.validSince, err = tx.ConsentValidSince(tenantID)
	return err
}

func (s *Service) load(ctx context.Context, tenantID, subjectID string, now time.Time) (loaded, error) {
	return s.loadWith(ctx, tenantID, now, func(tx store.Tx) (store.SubjectData, error) {
		return tx.LoadSubject(tenantID, subjectID)
	})
}

// loadWith runs one read transaction: the subject with its fields (one
// query), then its controls only if it has any.
func (s *Service) loadWith(ctx context.Context, tenantID string, now time.Time, find func(store.Tx) (store.SubjectData, error)) (loaded, error) {
	var l loaded
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		d, err := find(tx)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		l.subj, l.fields = d.Subject, d.Fields
		l.controls = store.Controls{}
		if d.NeedsControls() {
			if l.controls, err = tx.SubjectControls(tenantID, d.Subject.ID, now); err != nil {
				return err
			}
		}
		return loadValidSince(tx, tenantID, &l)
	})
	return l, err
}

func snapshot(l *loaded) *decide.Subject {
	return decide.Snapshot(l.subj, l.controls, l.validSince)
}

// Get returns what purpose may see of the subject, and records the read.
func (s *Service) Get(ctx context.Context, tenantID, subjectID, purpose string, by Actor) (View, error) {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return View{}, err
	}
	doc := a.Doc
	if doc.PurposeByKey(purpose) == nil {
		return View{}, ErrUnknownPurpose
	}
	now := s.now()
	l, err := s.load(ctx, tenantID, subjectID, now)
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, doc, tenantID, purpose, l, now, by)
}

// view decides, decrypts and audits a loaded subject for a purpose.
func (s *Service) view(ctx context.Context, doc *policy.Document, tenantID, purpose string, l loaded, now time.Time, by Actor) (View, error) {
	subjectID := l.subj.ID
	if l.subj.State == store.SubjectErased && len(l.fields) == 0 {
		return View{}, ErrNotFound
	}

	items := make([]decide.Item, 0, len(l.fields))
	var undeclared []Withheld
	for _, f := range l.fields {
		def := doc.FieldByName(f.Field)
		if def == nil {
			undeclared = append(undeclared, Withheld{Field: f.Field, Reason: decide.NotInPurpose,
				Detail: "the field is no longer declared in the policy"})
			continue
		}
		items = append(items, decide.Item{Name: f.Field, Category: def.Category,
			ExpiresAt: retention.ExpiresAt(doc.RetentionFor(f.Field), &l.subj, f.CollectedAt)})
	}
	decisions, err := decide.Decide(doc, purpose, snapshot(&l), items, now, make([]decide.Decision, 0, len(items)))
	if err != nil {
		if errors.Is(err, decide.ErrUnknownPurpose) {
			return View{}, ErrUnknownPurpose
		}
		return View{}, err
	}

	v := View{ID: l.subj.ID, State: l.subj.State, Purpose: purpose, Anonymous: l.subj.Anonymous,
		CreatedAt: l.subj.CreatedAt, UpdatedAt: l.subj.UpdatedAt, LastActivityAt: l.subj.LastActivityAt,
		Fields: make(map[string]FieldOut, len(decisions)), Withheld: append([]Withheld{}, undeclared...)}
	var dk *keys.DataKey
	released := make([]string, 0, len(decisions))
	byName := make(map[string]*store.FieldValue, len(l.fields))
	for i := range l.fields {
		byName[l.fields[i].Field] = &l.fields[i]
	}
	for _, d := range decisions {
		if !d.Allowed {
			v.Withheld = append(v.Withheld, Withheld{Field: d.Item, Category: d.Category, Reason: d.Reason, Detail: d.Detail})
			continue
		}
		if dk == nil {
			if dk, err = s.subjectKey(ctx, tenantID, subjectID); err != nil {
				return View{}, err
			}
		}
		f := byName[d.Item]
		pt, err := dk.Open(keys.FieldAD(tenantID, subjectID, f.Field), f.Ciphertext)
		if err != nil {
			return View{}, fmt.Errorf("field %s of subject %s does not decrypt (tampered or corrupt): %w", f.Field, subjectID, err)
		}
		v.Fields[f.Field] = FieldOut{Value: pt, Category: d.Category, Source: f.Source, CollectedAt: f.CollectedAt, UpdatedAt: f.UpdatedAt}
		released = append(released, f.Field)
	}

	ev := by.event(actRead, subjectID)
	ev.Purpose = purpose
	ev.Fields = released
	ev.Categories = categoriesOfDecisions(decisions)
	ev.Reason = withheldSummary(v.Withheld)
	ev.At = now
	if err := s.Audit.Record(ctx, s.Store, tenantID, ev); err != nil {
		return View{}, fmt.Errorf("audit the read: %w", err)
	}
	return v, nil
}

func categoriesOfDecisions(ds []decide.Decision) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range ds {
		if d.Allowed && !seen[d.Category] {
			seen[d.Category] = true
			out = append(out, d.Category)
		}
	}
	sort.Strings(out)
	return out
}

// withheldSummary is the audit reason of a read: which fields were withheld
// and why (names and reasons only).
func withheldSummary(ws []Withheld) string {
	if len(ws) == 0 {
		return ""
	}
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.Field + ":" + string(w.Reason)
	}
	return "withheld " + strings.Join(parts, ",")
}

// Lookup finds a subject by an identity and returns what purpose may see.
// The value is normalised the way it was when stored (emails lower-cased,
// phones in E.164).
func (s *Service) Lookup(ctx context.Context, tenantID, kind, value, purpose string, by Actor) (View, error) {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return View{}, err
	}
	if a.Doc.PurposeByKey(purpose) == nil {
		return View{}, ErrUnknownPurpose
	}
	norm, err := identity.Normalize(kind, value, a.Doc.Policy.Controller.Country)
	if err != nil {
		return View{}, &InputError{Problems: []FieldProblem{{Field: kind, Message: err.Error()}}}
	}
	blind, err := s.Keys.BlindIndex(ctx, tenantID, kind, norm)
	if err != nil {
		return View{}, err
	}
	now := s.now()
	l, err := s.loadWith(ctx, tenantID, now, func(tx store.Tx) (store.SubjectData, error) {
		return tx.LoadSubjectByIdentity(tenantID, kind, blind)
	})
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, a.Doc, tenantID, purpose, l, now, by)
}

// RecordOut is a released collection record.
type RecordOut struct {
	ID          string          `json:"id"`
	Data        json.RawMessage `json:"data"`
	Source      string          `json:"source"`
	CollectedAt time.Time       `json:"collected_at"`
}

// RecordPage is one page of a collection for a purpose.
type RecordPage struct {
	Collection string      `json:"collection"`
	Purpose    string      `json:"purpose"`
	Records    []RecordOut `json:"records"`
	NextCursor string      `json:"next_cursor,omitempty"`
	// Withheld explains why records are not released: the whole
	// collection (Field is the collection) or expired records.
	Withheld []Withheld `json:"withheld"`
}

// AppendRecord adds a record to a subject's collection. occurredAt, when
// set and not in the future, is when the event happened.
func (s *Service) AppendRecord(ctx context.Context, tenantID, subjectID, collection string, data json.RawMessage, source string, occurredAt time.Time, by Actor) (RecordOut, error) {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return RecordOut{}, err
	}
	def := a.Doc.CollectionByName(collection)
	var ie InputError
	if def == nil {
		ie.Add(collection, "is not a collection declared in the policy")
	}
	if !validSources[source] {
		ie.Add("source", "must be provided, observed, inferred or third_party")
	}
	compact, problem := compactJSON(data)
	if problem != "" {
		ie.Add("data", "%s", problem)
	}
	if err := ie.Err(); err != nil {
		return RecordOut{}, err
	}
	if source == "" {
		source = string(def.Source)
		if source == "" {
			source = string(policy.SourceProvided)
		}
	}
	now := s.now()
	at := now
	if !occurredAt.IsZero() && !occurredAt.After(now) {
		at = occurredAt.UTC()
	}
	dk, err := s.subjectKey(ctx, tenantID, subjectID)
	if err != nil {
		return RecordOut{}, err
	}
	id := store.NewID()
	ct, err := dk.Seal(keys.RecordAD(tenantID, subjectID, collection, id), compact)
	if err != nil {
		return RecordOut{}, err
	}
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		subj, err := tx.GetSubject(tenantID, subjectID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if subj.State == store.SubjectErased {
			return ErrErased
		}
		if at.After(subj.LastActivityAt) {
			if err := s.moveActivity(tx, a.Doc, tenantID, subjectID, at); err != nil {
				return err
			}
			if subj, err = tx.GetSubject(tenantID, subjectID); err != nil {
				return err
			}
		}
		if err := tx.AppendRecord(store.Record{TenantID: tenantID, SubjectID: subjectID, Collection: collection, ID: id,
			Ciphertext: ct, Source: source, CollectedAt: at, ExpiresAt: retention.DueAt(a.Doc.RetentionFor(collection), &subj, at)}); err != nil {
			return err
		}
		ev := by.event(actAppend, subjectID)
		ev.Fields = []string{collection}
		ev.Categories = []string{def.Category}
		ev.At = now
		return s.Audit.Append(tx, tenantID, ev)
	})
	if err != nil {
		return RecordOut{}, err
	}
	return RecordOut{ID: id, Source: source, CollectedAt: at}, nil
}

func compactJSON(data json.RawMessage) ([]byte, string) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, "is required"
	}
	if len(data) > MaxValueBytes {
		return nil, fmt.Sprintf("is larger than %d bytes", MaxValueBytes)
	}
	if !utf8.Valid(data) {
		return nil, "is not valid UTF-8"
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, data); err != nil {
		return nil, "is not valid JSON"
	}
	if buf.String() == "null" {
		return nil, "must not be null"
	}
	return buf.Bytes(), ""
}

// ListRecords returns a page of a collection for a purpose, and records the
// read. Records whose retention has expired are not released.
func (s *Service) ListRecords(ctx context.Context, tenantID, subjectID, collection, purpose, cursor string, limit int, by Actor) (RecordPage, error) {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return RecordPage{}, err
	}
	doc := a.Doc
	def := doc.CollectionByName(collection)
	if def == nil {
		return RecordPage{}, &InputError{Problems: []FieldProblem{{Field: collection, Message: "is not a collection declared in the policy"}}}
	}
	if doc.PurposeByKey(purpose) == nil {
		return RecordPage{}, ErrUnknownPurpose
	}
	if limit <= 0 {
		limit = 50
	}
	if limit > 500 {
		limit = 500
	}
	after, err := decodeCursor(cursor)
	if err != nil {
		return RecordPage{}, &InputError{Problems: []FieldProblem{{Field: "cursor", Message: err.Error()}}}
	}
	now := s.now()
	page := RecordPage{Collection: collection, Purpose: purpose, Records: []RecordOut{}, Withheld: []Withheld{}}
	var (
		l    loaded
		recs []store.Record
	)
	err = s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		l.subj, err = tx.GetSubject(tenantID, subjectID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if l.controls, err = tx.SubjectControls(tenantID, subjectID, now); err != nil {
			return err
		}
		if err := loadValidSince(tx, tenantID, &l); err != nil {
			return err
		}
		recs, err = tx.ListRecords(tenantID, subjectID, collection, after, limit+1)
		return err
	})
	if err != nil {
		return RecordPage{}, err
	}
	if len(recs) > limit {
		recs = recs[:limit]
		page.NextCursor = encodeCursor(recs[len(recs)-1].ID)
	}
	snap := snapshot(&l)
	gate, err := decide.DecideItem(doc, purpose, snap, decide.Item{Name: collection, Collection: collection, Category: def.Category}, now)
	if err != nil {
		return RecordPage{}, err
	}
	released := 0
	if !gate.Allowed {
		page.Withheld = append(page.Withheld, Withheld{Field: collection, Category: def.Category, Reason: gate.Reason, Detail: gate.Detail})
		page.NextCursor = ""
	} else if len(recs) > 0 {
		rule := doc.RetentionFor(collection)
		items := make([]decide.Item, len(recs))
		for i, r := range recs {
			items[i] = decide.Item{Name: r.ID, Collection: collection, Category: def.Category, ExpiresAt: retention.ExpiresAt(rule, &l.subj, r.CollectedAt)}
		}
		ds, err := decide.Decide(doc, purpose, snap, items, now, make([]decide.Decision, 0, len(items)))
		if err != nil {
			return RecordPage{}, err
		}
		dk, err := s.subjectKey(ctx, tenantID, subjectID)
		if err != nil {
			return RecordPage{}, err
		}
		for i, d := range ds {
			r := recs[i]
			if !d.Allowed {
				page.Withheld = append(page.Withheld, Withheld{Field: collection + "/" + r.ID, Category: def.Category, Reason: d.Reason, Detail: d.Detail})
				continue
			}
			pt, err := dk.Open(keys.RecordAD(tenantID, subjectID, collection, r.ID), r.Ciphertext)
			if err != nil {
				return RecordPage{}, fmt.Errorf("record %s of subject %s does not decrypt (tampered or corrupt): %w", r.ID, subjectID, err)
			}
			page.Records = append(page.Records, RecordOut{ID: r.ID, Data: pt, Source: r.Source, CollectedAt: r.CollectedAt})
			released++
		}
	}
	ev := by.event(actList, subjectID)
	ev.Purpose = purpose
	ev.Fields = []string{collection}
	if released > 0 {
		ev.Categories = []string{def.Category}
	}
	ev.Reason = fmt.Sprintf("%d record(s) released", released)
	if len(page.Withheld) > 0 {
		ev.Reason += "; " + withheldSummary(page.Withheld)
	}
	ev.At = now
	if err := s.Audit.Record(ctx, s.Store, tenantID, ev); err != nil {
		return RecordPage{}, fmt.Errorf("audit the read: %w", err)
	}
	return page, nil
}

// CategoryDecision is the answer for one category.
type CategoryDecision = decide.Decision

// Decide answers "may purpose use these categories of this subject?"
// without reading or releasing any value.
func (s *Service) Decide(ctx context.Context, tenantID, subjectID, purpose string, categories []string) ([]decide.Decision, error) {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	doc := a.Doc
	if doc.PurposeByKey(purpose) == nil {
		return nil, ErrUnknownPurpose
	}
	var ie InputError
	for _, c := range categories {
		if !doc.Taxonomy().Has(c) {
			ie.Add(c, "is not a known data category")
		}
	}
	if err := ie.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	l, err := s.loadWith(ctx, tenantID, now, func(tx store.Tx) (store.SubjectData, error) {
		return tx.LoadSubjectMeta(tenantID, subjectID)
	})
	if err != nil {
		return nil, err
	}
	snap := snapshot(&l)
	out := make([]decide.Decision, 0, len(categories))
	for _, c := range categories {
		d, err := decide.DecideCategory(doc, purpose, snap, c, now)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// LookupKinds are the identity kinds a subject can be looked up by.
var LookupKinds = []string{string(policy.IdentityEmail), string(policy.IdentityPhone), string(policy.IdentityExternalID), string(policy.IdentityLogin)}

// ErrNoContact means the subject has no email address on file.
var ErrNoContact = errors.New("the subject has no email address on file")

// ContactEmail returns the subject's email address (the first field with
// identity kind email) so Trustee itself can write to the person: a
// verification code, a request outcome, a breach notice. The read is
// audited with the reason (e.g. "breach notice B-12"), never the address.
func (s *Service) ContactEmail(ctx context.Context, tenantID, subjectID, reason string, by Actor) (string, error) {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return "", err
	}
	var field *policy.Field
	for i := range a.Doc.Policy.Fields {
		if a.Doc.Policy.Fields[i].Identity == policy.IdentityEmail {
			field = &a.Doc.Policy.Fields[i]
			break
		}
	}
	if field == nil {
		return "", ErrNoContact
	}
	var fv *store.FieldValue
	err = s.Store.Read(ctx, func(tx store.Tx) error {
		d, err := tx.LoadSubject(tenantID, subjectID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		for i := range d.Fields {
			if d.Fields[i].Field == field.Name {
				fv = &d.Fields[i]
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if fv == nil {
		return "", ErrNoContact
	}
	dk, err := s.subjectKey(ctx, tenantID, subjectID)
	if err != nil {
		return "", err
	}
	pt, err := dk.Open(keys.FieldAD(tenantID, subjectID, fv.Field), fv.Ciphertext)
	if err != nil {
		return "", fmt.Errorf("field %s of subject %s does not decrypt (tampered or corrupt): %w", fv.Field, subjectID, err)
	}
	var addr string
	if err := json.Unmarshal(pt, &addr); err != nil || addr == "" {
		return "", ErrNoContact
	}
	ev := by.event("subject.contact", subjectID)
	ev.Fields = []string{fv.Field}
	ev.Categories = []string{field.Category}
	ev.Reason = reason
	ev.At = s.now()
	if err := s.Audit.Record(ctx, s.Store, tenantID, ev); err != nil {
		return "", fmt.Errorf("audit the read: %w", err)
	}
	return addr, nil
}
