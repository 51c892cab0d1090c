package vault

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trustee-privacy/trustee/internal/identity"
	"github.com/trustee-privacy/trustee/internal/keys"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/retention"
	"github.com/trustee-privacy/trustee/internal/store"
)

// MaxValueBytes bounds one field value or record (as JSON), so one caller
// cannot store megabytes per subject.
const MaxValueBytes = 64 << 10

// CreateInput is a new subject.
type CreateInput struct {
	// Fields maps declared field names to JSON values.
	Fields map[string]json.RawMessage
	// Anonymous subjects (e.g. a browser id for cookie consent) carry no
	// identity and skip the policy's required fields.
	Anonymous bool
	// Source overrides the policy's source for every field (e.g. a import
	// from a third party); empty uses each field's declared source.
	Source string
	// Minor marks a person below the policy's minimum age; ParentalConsent
	// records that a parent consented.
	Minor           bool
	ParentalConsent bool
	// IdempotencyKey, if set, makes a retried create return the first
	// answer instead of failing or creating twice.
	IdempotencyKey string
	// RequestHash identifies the request for the idempotency check (the
	// HTTP layer hashes method, path and body); computed from Fields if empty.
	RequestHash []byte
}

// Created is the answer to a create. It holds no personal data.
type Created struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	Fields     []string  `json:"fields"`
	Identities []string  `json:"identities"`
	// Replayed is true when the answer was remembered from an earlier
	// request with the same Idempotency-Key.
	Replayed bool `json:"-"`
}

// preparedField is a validated field about to be encrypted.
type preparedField struct {
	name     string
	def      *policy.Field
	value    []byte // compact JSON
	identity string // normalised identity value, "" if not an identity
}

// prepare validates values against the policy and normalises identities.
func prepare(doc *policy.Document, values map[string]json.RawMessage, allowNull bool) ([]preparedField, *InputError) {
	var ie InputError
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	region := doc.Policy.Controller.Country
	out := make([]preparedField, 0, len(values))
	for _, name := range names {
		raw := values[name]
		def := doc.FieldByName(name)
		if def == nil {
			ie.Add(name, "is not a field declared in the policy")
			continue
		}
		if len(raw) > MaxValueBytes {
			ie.Add(name, "value is larger than %d bytes", MaxValueBytes)
			continue
		}
		trimmed := bytes.TrimSpace(raw)
		if len(trimmed) == 0 {
			ie.Add(name, "value is empty")
			continue
		}
		if bytes.Equal(trimmed, []byte("null")) {
			if !allowNull {
				ie.Add(name, "value must not be null")
				continue
			}
			out = append(out, preparedField{name: name, def: def})
			continue
		}
		if !utf8.Valid(trimmed) || !json.Valid(trimmed) {
			ie.Add(name, "value is not valid JSON")
			continue
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, trimmed); err != nil {
			ie.Add(name, "value is not valid JSON")
			continue
		}
		pf := preparedField{name: name, def: def, value: compact.Bytes()}
		if def.Identity != "" {
			var s string
			if err := json.Unmarshal(trimmed, &s); err != nil {
				ie.Add(name, "is an identity (%s) and must be a string", def.Identity)
				continue
			}
			norm, err := identity.Normalize(string(def.Identity), s, region)
			if err != nil {
				ie.Add(name, "%s", err.Error())
				continue
			}
			pf.identity = norm
		}
		out = append(out, pf)
	}
	return out, &ie
}

func sourceOf(override string, def *policy.Field) string {
	if override != "" {
		return override
	}
	if def.Source != "" {
		return string(def.Source)
	}
	return string(policy.SourceProvided)
}

var validSources = map[string]bool{"": true, "provided": true, "observed": true, "inferred": true, "third_party": true}

// Create stores a new subject with its identities and fields.
func (s *Service) Create(ctx context.Context, tenantID string, in CreateInput, by Actor) (Created, error) {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return Created{}, err
	}
	doc := a.Doc
	fields, ie := prepare(doc, in.Fields, false)
	if !validSources[in.Source] {
		ie.Add("source", "must be provided, observed, inferred or third_party")
	}
	present := map[string]bool{}
	for _, f := range fields {
		present[f.name] = true
		if in.Anonymous && f.identity != "" {
			ie.Add(f.name, "an anonymous subject cannot have an identity")
		}
	}
	if !in.Anonymous {
		for i := range doc.Policy.Fields {
			f := &doc.Policy.Fields[i]
			if f.Required && !present[f.Name] {
				ie.Add(f.Name, "is required by the policy")
			}
		}
	}
	if in.ParentalConsent && !in.Minor {
		ie.Add("parental_consent", "only applies to a minor")
	}
	if err := ie.Err(); err != nil {
		return Created{}, err
	}

	reqHash := in.RequestHash
	if in.IdempotencyKey != "" {
		if reqHash == nil {
			reqHash = hashFields(fields, in)
		}
		if c, ok, err := s.replay(ctx, tenantID, in.IdempotencyKey, reqHash); ok || err != nil {
			return c, err
		}
	}

	now := s.now()
	id := store.NewID()
	subj := store.Subject{TenantID: tenantID, ID: id, State: store.SubjectActive, Anonymous: true,
		CreatedAt: now, UpdatedAt: now, LastActivityAt: now}
	if in.Minor {
		subj.AgeStatus = "minor"
		if in.ParentalConsent {
			subj.AgeStatus = "minor_consented"
		}
	}
	var ids []store.Identity
	for _, f := range fields {
		if f.identity == "" {
			continue
		}
		blind, err := s.Keys.BlindIndex(ctx, tenantID, string(f.def.Identity), f.identity)
		if err != nil {
			return Created{}, err
		}
		ids = append(ids, store.Identity{Kind: string(f.def.Identity), Blind: blind, Field: f.name, CreatedAt: now})
		subj.Anonymous = false
	}

	dk, err := s.Keys.NewSubjectKey(ctx, tenantID, id)
	if err != nil {
		return Created{}, err
	}
	vals := make([]store.FieldValue, 0, len(fields))
	out := Created{ID: id, CreatedAt: now, Fields: make([]string, 0, len(fields)), Identities: []string{}}
	for _, f := range fields {
		ct, err := dk.Seal(keys.FieldAD(tenantID, id, f.name), f.value)
		if err != nil {
			return Created{}, err
		}
		vals = append(vals, store.FieldValue{Field: f.name, Ciphertext: ct, Source: sourceOf(in.Source, f.def), CollectedAt: now, UpdatedAt: now,
			ExpiresAt: retention.DueAt(doc.RetentionFor(f.name), &subj, now)})
		out.Fields = append(out.Fields, f.name)
	}
	for _, i := range ids {
		out.Identities = append(out.Identities, i.Kind)
	}
	sort.Strings(out.Identities)
	body, _ := json.Marshal(out)

	ev := by.event(actCreate, id)
	ev.Fields = out.Fields
	ev.Categories = categoriesOf(fields)
	ev.At = now
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		if err := tx.CreateSubject(subj, ids, vals); err != nil {
			return err
		}
		if s.OnCreate != nil && len(ids) > 0 {
			if err := s.OnCreate(ctx, tx, tenantID, id, ids, now); err != nil {
				return err
			}
		}
		if in.IdempotencyKey != "" {
			if err := tx.PutIdempotency(store.Idempotency{TenantID: tenantID, Key: in.IdempotencyKey, RequestHash: reqHash,
				Status: 201, Body: body, CreatedAt: now}); err != nil {
				return err
			}
		}
		return s.Audit.Append(tx, tenantID, ev)
	})
	if err != nil {
		// The key of a subject that was never stored protects nothing.
		_ = s.Keys.Shred(context.WithoutCancel(ctx), tenantID, id)
		var ic *store.IdentityConflict
		if errors.As(err, &ic) {
			return Created{}, &ConflictError{Kind: ic.Kind, Field: ic.Field, SubjectID: ic.SubjectID}
		}
		if in.IdempotencyKey != "" && errors.Is(err, store.ErrConflict) {
			// A concurrent request with the same key won: answer as it did.
			if c, ok, rerr := s.replay(ctx, tenantID, in.IdempotencyKey, reqHash); ok || rerr != nil {
				return c, rerr
			}
		}
		return Created{}, err
	}
	return out, nil
}

func categoriesOf(fields []preparedField) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range fields {
		if !seen[f.def.Category] {
			seen[f.def.Category] = true
			out = append(out, f.def.Category)
		}
	}
	sort.Strings(out)
	return out
}

// hashFields identifies a create request by its content.
func hashFields(fields []preparedField, in CreateInput) []byte {
	h := sha256.New()
	for _, f := range fields {
		h.Write([]byte(f.name))
		h.Write([]byte{0})
		h.Write(f.value)
		h.Write([]byte{0})
	}
	flags := []byte{0, 0, 0}
	if in.Anonymous {
		flags[0] = 1
	}
	if in.Minor {
		flags[1] = 1
	}
	if in.ParentalConsent {
		flags[2] = 1
	}
	h.Write(flags)
	h.Write([]byte(in.Source))
	return h.Sum(nil)
}

// replay returns the remembered answer for an idempotency key.
func (s *Service) replay(ctx context.Context, tenantID, key string, reqHash []byte) (Created, bool, error) {
	var rec store.Idempotency
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		rec, err = tx.GetIdempotency(tenantID, key)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return Created{}, false, nil
	}
	if err != nil {
		return Created{}, false, err
	}
	if !bytes.Equal(rec.RequestHash, reqHash) {
		return Created{}, true, ErrIdempotency
	}
	var c Created
	if err := json.Unmarshal(rec.Body, &c); err != nil {
		return Created{}, true, err
	}
	c.Replayed = true
	return c, true, nil
}

// UpdateInput rectifies fields: a JSON null removes a field. There is no
// free-text reason: the audit log must never hold personal data, and a
// reason typed by a person often does ("new address is ...").
type UpdateInput struct {
	Fields map[string]json.RawMessage
}

// Updated says what a rectification changed, without values.
type Updated struct {
	ID      string    `json:"id"`
	Changed []string  `json:"changed"`
	Removed []string  `json:"removed"`
	At      time.Time `json:"updated_at"`
}

// Update rectifies fields. The audit records which fields changed and when
// their previous values were last set, never the values.
func (s *Service) Update(ctx context.Context, tenantID, subjectID string, in UpdateInput, by Actor) (Updated, error) {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return Updated{}, err
	}
	fields, ie := prepare(a.Doc, in.Fields, true)
	if len(in.Fields) == 0 {
		ie.Add("fields", "nothing to change")
	}
	if err := ie.Err(); err != nil {
		return Updated{}, err
	}
	dk, err := s.subjectKey(ctx, tenantID, subjectID)
	if err != nil {
		return Updated{}, err
	}
	now := s.now()
	blinds := map[string][]byte{}
	var puts []store.FieldValue
	for _, f := range fields {
		if f.value == nil {
			continue
		}
		if f.identity != "" {
			b, err := s.Keys.BlindIndex(ctx, tenantID, string(f.def.Identity), f.identity)
			if err != nil {
				return Updated{}, err
			}
			blinds[f.name] = b
		}
		ct, err := dk.Seal(keys.FieldAD(tenantID, subjectID, f.name), f.value)
		if err != nil {
			return Updated{}, err
		}
		puts = append(puts, store.FieldValue{TenantID: tenantID, SubjectID: subjectID, Field: f.name, Ciphertext: ct,
			Source: sourceOf("", f.def), CollectedAt: now, UpdatedAt: now})
	}
	out := Updated{ID: subjectID, Changed: []string{}, Removed: []string{}, At: now}
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		out.Changed, out.Removed = out.Changed[:0], out.Removed[:0]
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
		old, err := tx.GetFields(tenantID, subjectID)
		if err != nil {
			return err
		}
		prev := map[string]store.FieldValue{}
		for _, f := range old {
			prev[f.Field] = f
		}
		var history []string
		for _, f := range fields {
			p, existed := prev[f.name]
			if existed {
				history = append(history, f.name+" (previous value set "+p.UpdatedAt.Format(time.RFC3339)+")")
			} else {
				history = append(history, f.name+" (no previous value)")
			}
			if f.value == nil {
				if !existed {
					continue
				}
				if err := tx.DeleteField(tenantID, subjectID, f.name); err != nil {
					return err
				}
				if f.def.Identity != "" {
					if err := tx.DeleteIdentity(tenantID, subjectID, f.name); err != nil {
						return err
					}
				}
				out.Removed = append(out.Removed, f.name)
				continue
			}
			if b := blinds[f.name]; b != nil {
				if err := tx.SetIdentity(store.Identity{TenantID: tenantID, Kind: string(f.def.Identity), Blind: b,
					SubjectID: subjectID, Field: f.name, CreatedAt: now}); err != nil {
					return err
				}
			}
			if existed {
				for i := range puts {
					if puts[i].Field == f.name {
						puts[i].CollectedAt = p.CollectedAt
					}
				}
			}
			out.Changed = append(out.Changed, f.name)
		}
		// A rectified value keeps its collection time, and so its due time
		// under a rule counted from collection.
		for i := range puts {
			puts[i].ExpiresAt = retention.DueAt(a.Doc.RetentionFor(puts[i].Field), &subj, puts[i].CollectedAt)
		}
		if err := tx.PutFields(puts); err != nil {
			return err
		}
		// A rectification is not the person's own activity (staff may
		// make it), so last activity stays where it was.
		if err := tx.TouchSubject(tenantID, subjectID, now, false); err != nil {
			return err
		}
		ev := by.event(actUpdate, subjectID)
		ev.Fields = append(append([]string{}, out.Changed...), out.Removed...)
		ev.Categories = categoriesOf(fields)
		ev.Reason = strings.Join(history, "; ")
		ev.At = now
		return s.Audit.Append(tx, tenantID, ev)
	})
	var ic *store.IdentityConflict
	if errors.As(err, &ic) {
		return Updated{}, &ConflictError{Kind: ic.Kind, Field: ic.Field, SubjectID: ic.SubjectID}
	}
	return out, err
}

// DeleteField removes one field of a subject (and its identity).
func (s *Service) DeleteField(ctx context.Context, tenantID, subjectID, field string, by Actor) error {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return err
	}
	def := a.Doc.FieldByName(field)
	if def == nil {
		return &InputError{Problems: []FieldProblem{{Field: field, Message: "is not a field declared in the policy"}}}
	}
	now := s.now()
	return s.Store.Write(ctx, func(tx store.Tx) error {
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
		if err := tx.DeleteField(tenantID, subjectID, field); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return ErrFieldNotSet
			}
			return err
		}
		if def.Identity != "" {
			if err := tx.DeleteIdentity(tenantID, subjectID, field); err != nil {
				return err
			}
		}
		if err := tx.TouchSubject(tenantID, subjectID, now, false); err != nil {
			return err
		}
		ev := by.event(actFieldDelete, subjectID)
		ev.Fields = []string{field}
		ev.Categories = []string{def.Category}
		ev.At = now
		return s.Audit.Append(tx, tenantID, ev)
	})
}

// ErrFieldNotSet means the subject has no value for the field.
var ErrFieldNotSet = errors.New("the field has no value")

// subjectKey returns the subject's data key, mapping key-store states to
// vault errors.
func (s *Service) subjectKey(ctx context.Context, tenantID, subjectID string) (*keys.DataKey, error) {
	dk, err := s.Keys.SubjectKey(ctx, tenantID, subjectID)
	switch {
	case errors.Is(err, keys.ErrNoKey):
		return nil, ErrNotFound
	case errors.Is(err, keys.ErrShredded):
		return nil, ErrErased
	}
	return dk, err
}

// Activity records that the person was active (logged in, used the
// service), which moves retention rules counted from last activity.
func (s *Service) Activity(ctx context.Context, tenantID, subjectID string, at time.Time, by Actor) error {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return err
	}
	now := s.now()
	if at.IsZero() || at.After(now) {
		at = now
	}
	return s.Store.Write(ctx, func(tx store.Tx) error {
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
		}
		ev := by.event(actActivity, subjectID)
		ev.At = now
		return s.Audit.Append(tx, tenantID, ev)
	})
}

// moveActivity records activity at at and, in the same transaction, moves
// the due times of the rows whose retention counts from last activity. The
// update takes the subject's row lock and never moves activity back, so the
// subject read after it is current, and so are the due times computed from it.
func (s *Service) moveActivity(tx store.Tx, doc *policy.Document, tenantID, subjectID string, at time.Time) error {
	if err := tx.TouchSubject(tenantID, subjectID, at, true); err != nil {
		return err
	}
	subj, err := tx.GetSubject(tenantID, subjectID)
	if err != nil {
		return err
	}
	return retention.RecomputeSubject(tx, doc, &subj, policy.TriggerLastActivity)
}
