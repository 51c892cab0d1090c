package consent

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/trustee-privacy/trustee/internal/identity"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// Direct marketing and the suppression list.
//
// An unsubscribe (one-click link, the application, a reply) and an
// objection to direct marketing (GDPR Art. 21(2)-(3)) do the same three
// things, in one transaction:
//
//  1. an upheld direct_marketing objection naming no purpose, which the
//     decision engine applies to every purpose flagged direct_marketing at
//     once and without conditions;
//  2. a withdrawal in the ledger for each consent-based direct-marketing
//     purpose the person had consented to, so their history says so;
//  3. the person's email addresses and phone numbers go on the suppression
//     list as keyed hashes with no link to the subject, so that after an
//     erasure a new account with the same address is still never sent
//     marketing (audiences skip it).
//
// The suppression hash of an identifier is the keyed hash, under the
// tenant's index key and the kind "suppression:<kind>", of the identity's
// blind index. Deriving it from the blind index rather than from the
// address means an audience can check every candidate from its identity
// rows without decrypting anything; the distinct kind means the list
// cannot be joined with the identities table without the key.

// suppressKinds are the identity kinds direct marketing reaches.
var suppressKinds = []string{store.SuppressEmail, store.SuppressPhone}

// SuppressionHash returns the suppression-list hash of an identity, given
// its blind index.
func (s *Service) SuppressionHash(ctx context.Context, tenantID, kind string, blind []byte) ([]byte, error) {
	return s.Keys.BlindIndex(ctx, tenantID, "suppression:"+kind, hex.EncodeToString(blind))
}

type kindHash struct {
	kind string
	hash []byte
}

func hashList(hs []kindHash) [][]byte {
	out := make([][]byte, len(hs))
	for i, h := range hs {
		out[i] = h.hash
	}
	return out
}

// subjectSuppressionHashes returns the suppression hashes of the subject's
// email and phone identities.
func (s *Service) subjectSuppressionHashes(ctx context.Context, tx store.Tx, tenantID, subjectID string) ([]kindHash, error) {
	ids, err := tx.ListIdentities(tenantID, subjectID)
	if err != nil {
		return nil, err
	}
	var out []kindHash
	for _, id := range ids {
		if !slices.Contains(suppressKinds, id.Kind) {
			continue
		}
		h, err := s.SuppressionHash(ctx, tenantID, id.Kind, id.Blind)
		if err != nil {
			return nil, err
		}
		out = append(out, kindHash{id.Kind, h})
	}
	return out, nil
}

// suppressedFor reports whether entries stop purpose: an entry for every
// direct-marketing purpose, or for this one.
func suppressedFor(entries []store.Suppression, purpose string) bool {
	for _, e := range entries {
		if e.Purpose == "" || e.Purpose == purpose {
			return true
		}
	}
	return false
}

// Unsubscribed says what an unsubscribe did.
type Unsubscribed struct {
	SubjectID string `json:"subject_id"`
	// ObjectionID is the upheld direct-marketing objection in force (new
	// or the one that already was).
	ObjectionID string `json:"objection_id" doc:"The upheld direct-marketing objection that stops every direct-marketing purpose."`
	// Purposes are the direct-marketing purposes of the policy, all
	// stopped now.
	Purposes []string `json:"purposes" doc:"The direct-marketing purposes now stopped."`
	// Withdrawn are the ledger events withdrawing consents.
	Withdrawn []EventOut `json:"withdrawn" doc:"Consents withdrawn in the ledger."`
	// Suppressed counts the identifiers put on the suppression list.
	Suppressed int `json:"suppressed" doc:"How many of the person's addresses and numbers are now on the suppression list."`
}

// Unsubscribe stops every direct-marketing purpose for the subject at once
// (see the comment at the top of this file). via names how: "unsubscribe"
// for a one-click link, "api" for the application or staff recording an
// objection; origin is the purpose whose message it came from, if any. It
// is idempotent. An erased subject is unsubscribed too (nothing is sent to
// it anyway, and a link in an old email must not fail).
func (s *Service) Unsubscribe(ctx context.Context, tenantID, subjectID, origin, via string, by Actor) (Unsubscribed, error) {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return Unsubscribed{}, err
	}
	doc := a.Doc
	now := s.now()
	method := store.MethodAPI
	if via == store.MethodUnsubscribe {
		method = store.MethodUnsubscribe
	}
	reason := "unsubscribed"
	if method == store.MethodAPI {
		reason = "objected to direct marketing"
	}
	if origin != "" && doc.PurposeByKey(origin) != nil {
		reason += " from " + origin
	}
	out := Unsubscribed{SubjectID: subjectID, Purposes: directMarketing(doc), Withdrawn: []EventOut{}}
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		out.ObjectionID, out.Suppressed, out.Withdrawn = "", 0, out.Withdrawn[:0]
		if _, err := tx.GetSubject(tenantID, subjectID); errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		objs, err := tx.ListObjections(tenantID, subjectID)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if o.Kind == store.ObjectDirectMarketing && o.Purpose == "" && o.Status == store.ObjectionUpheld {
				out.ObjectionID = o.ID
				break
			}
		}
		if out.ObjectionID == "" {
			o := store.Objection{TenantID: tenantID, ID: store.NewID(), SubjectID: subjectID, Kind: store.ObjectDirectMarketing,
				Status: store.ObjectionUpheld, Reason: reason, Actor: by.ID, RequestID: by.RequestID, CreatedAt: now}
			if err := tx.AddObjection(o); err != nil {
				return err
			}
			out.ObjectionID = o.ID
		}
		current, err := tx.CurrentConsents(tenantID, subjectID)
		if err != nil {
			return err
		}
		for _, st := range current {
			p := doc.PurposeByKey(st.Purpose)
			if p == nil || !p.DirectMarketing || st.Kind != store.ConsentGiven {
				continue
			}
			e := store.ConsentEvent{TenantID: tenantID, ID: store.NewID(), SubjectID: subjectID, Purpose: p.Key,
				Kind: store.ConsentWithdrawn, PolicyVersion: a.Version.Version, PolicyHash: a.Version.Hash, Method: method,
				Source: "objection:" + out.ObjectionID, Actor: by.ID, At: now}
			if err := tx.AppendConsent(e); err != nil {
				return err
			}
			out.Withdrawn = append(out.Withdrawn, eventOut(e))
		}
		hashes, err := s.subjectSuppressionHashes(ctx, tx, tenantID, subjectID)
		if err != nil {
			return err
		}
		for _, h := range hashes {
			if err := tx.Suppress(store.Suppression{TenantID: tenantID, Kind: h.kind, Hash: h.hash, Reason: method, CreatedAt: now}); err != nil {
				return err
			}
		}
		out.Suppressed = len(hashes)
		ev := by.event(actUnsubscribe, subjectID)
		ev.Purpose = ""
		if origin != "" && doc.PurposeByKey(origin) != nil {
			ev.Purpose = origin
		}
		ev.Fields = out.Purposes
		ev.Reason = "via " + method
		ev.At = now
		return s.Audit.Append(tx, tenantID, ev)
	})
	if err != nil {
		return Unsubscribed{}, err
	}
	return out, nil
}

// SuppressAddress puts an address that may belong to no subject on the
// suppression list (a person asked by phone never to be emailed; a list
// imported from an earlier system). kind is email or phone.
func (s *Service) SuppressAddress(ctx context.Context, tenantID, kind, value, purpose string, by Actor) error {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return err
	}
	h, err := s.addressHash(ctx, a, kind, value)
	if err != nil {
		return err
	}
	if purpose != "" {
		if p := a.Doc.PurposeByKey(purpose); p == nil || !p.DirectMarketing {
			return &InputError{Problems: []FieldProblem{{Field: "purpose", Message: "is not a direct-marketing purpose of the policy"}}}
		}
	}
	now := s.now()
	return s.Store.Write(ctx, func(tx store.Tx) error {
		if err := tx.Suppress(store.Suppression{TenantID: tenantID, Kind: kind, Hash: h, Purpose: purpose, Reason: "api", CreatedAt: now}); err != nil {
			return err
		}
		ev := by.event(actSuppress, "")
		ev.Purpose = purpose
		ev.Fields = []string{kind}
		ev.At = now
		return s.Audit.Append(tx, tenantID, ev)
	})
}

// IsSuppressed reports whether an address is on the suppression list for
// purpose ("" asks about every direct-marketing purpose at once: is any
// entry in force that stops all of them).
func (s *Service) IsSuppressed(ctx context.Context, tenantID, kind, value, purpose string) (bool, error) {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return false, err
	}
	h, err := s.addressHash(ctx, a, kind, value)
	if err != nil {
		return false, err
	}
	var entries []store.Suppression
	err = s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		entries, err = tx.Suppressions(tenantID, [][]byte{h})
		return err
	})
	if err != nil {
		return false, err
	}
	entries = slices.DeleteFunc(entries, func(e store.Suppression) bool { return e.Kind != kind })
	return suppressedFor(entries, purpose), nil
}

func (s *Service) addressHash(ctx context.Context, a *tenant.Active, kind, value string) ([]byte, error) {
	if !slices.Contains(suppressKinds, kind) {
		return nil, &InputError{Problems: []FieldProblem{{Field: "kind", Message: "must be email or phone"}}}
	}
	norm, err := identity.Normalize(kind, value, a.Doc.Policy.Controller.Country)
	if err != nil {
		return nil, &InputError{Problems: []FieldProblem{{Field: kind, Message: err.Error()}}}
	}
	blind, err := s.Keys.BlindIndex(ctx, a.Tenant.ID, kind, norm)
	if err != nil {
		return nil, err
	}
	return s.SuppressionHash(ctx, a.Tenant.ID, kind, blind)
}

// One-click unsubscribe tokens (RFC 8058).
//
// A token names the tenant, the subject and the purpose of the message it
// was put in, and carries a MAC over them: the first 16 bytes of an
// HMAC-SHA256 under the tenant's index key with the distinct kind
// "unsubscribe-token:v1". It holds no email address, never expires (a
// newsletter in an inbox must keep working for years) and is safe to put
// in List-Unsubscribe headers: forging one needs the tenant's key, and the
// worst a leaked one allows is unsubscribing its own recipient.

const (
	tokenVersion = 1
	tokenMACLen  = 16
	tokenKind    = "unsubscribe-token:v1"
)

// UnsubscribeToken returns the token for a subject and purpose.
func (s *Service) UnsubscribeToken(ctx context.Context, tenantID, subjectID, purpose string) (string, error) {
	tu, err := uuid.Parse(tenantID)
	if err != nil {
		return "", err
	}
	su, err := uuid.Parse(subjectID)
	if err != nil {
		return "", err
	}
	if purpose == "" || len(purpose) > 64 {
		return "", errors.New("consent: token purpose must be 1 to 64 bytes")
	}
	payload := make([]byte, 0, 1+32+len(purpose)+tokenMACLen)
	payload = append(payload, tokenVersion)
	payload = append(payload, tu[:]...)
	payload = append(payload, su[:]...)
	payload = append(payload, purpose...)
	mac, err := s.Keys.BlindIndex(ctx, tenantID, tokenKind, base64.RawURLEncoding.EncodeToString(payload))
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(append(payload, mac[:tokenMACLen]...)), nil
}

// Token is a verified unsubscribe token.
type Token struct {
	TenantID  string
	SubjectID string
	Purpose   string
}

// maxTokenLen bounds what is decoded: the longest valid token.
const maxTokenLen = 200

// VerifyUnsubscribeToken checks a token's MAC and returns what it names.
// Every failure is ErrBadToken, so a prober learns nothing from the
// answer. The tenant must exist before its key is used: keys are never
// created for a tenant named by a stranger.
func (s *Service) VerifyUnsubscribeToken(ctx context.Context, token string) (Token, error) {
	if len(token) > maxTokenLen {
		return Token{}, ErrBadToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) < 1+32+1+tokenMACLen || raw[0] != tokenVersion {
		return Token{}, ErrBadToken
	}
	payload, mac := raw[:len(raw)-tokenMACLen], raw[len(raw)-tokenMACLen:]
	tu, _ := uuid.FromBytes(payload[1:17])
	su, _ := uuid.FromBytes(payload[17:33])
	t := Token{TenantID: tu.String(), SubjectID: su.String(), Purpose: string(payload[33:])}
	if !policyKeyRE.MatchString(t.Purpose) {
		return Token{}, ErrBadToken
	}
	if _, err := s.Tenants.Get(ctx, t.TenantID); err != nil {
		if errors.Is(err, tenant.ErrTenantNotFound) {
			return Token{}, ErrBadToken
		}
		return Token{}, err
	}
	want, err := s.Keys.BlindIndex(ctx, t.TenantID, tokenKind, base64.RawURLEncoding.EncodeToString(payload))
	if err != nil {
		return Token{}, err
	}
	if !hmac.Equal(mac, want[:tokenMACLen]) {
		return Token{}, ErrBadToken
	}
	return t, nil
}

// policyKeyRE matches purpose keys (policy naming rule).
var policyKeyRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// UnsubscribePage is what the confirmation page of a token shows.
type UnsubscribePage struct {
	Controller  string
	PurposeName string
	Purposes    []string // names of every direct-marketing purpose
	NoticeURL   string
}

// DescribeToken returns what a verified token's page should say: whose
// messages, which purposes stop. It reveals nothing about the person.
func (s *Service) DescribeToken(ctx context.Context, t Token) (UnsubscribePage, error) {
	a, err := s.active(ctx, t.TenantID)
	if err != nil {
		return UnsubscribePage{}, err
	}
	p := a.Doc.Policy
	page := UnsubscribePage{Controller: p.Controller.Name, NoticeURL: p.Controller.Website}
	if pp := a.Doc.PurposeByKey(t.Purpose); pp != nil {
		page.PurposeName = pp.Name
	}
	for _, pp := range p.Purposes {
		if pp.DirectMarketing {
			page.Purposes = append(page.Purposes, pp.Name)
		}
	}
	return page, nil
}

// actSuppressionApplied is the audit action of a suppression applied to a
// new subject.
const actSuppressionApplied = "consent.suppression_applied"

// OnSubjectCreated is vault.Service.OnCreate: it runs in the transaction
// that creates a subject and, when one of its email addresses or phone
// numbers is on the suppression list (the person unsubscribed or objected,
// and was perhaps erased since), records an upheld direct-marketing
// objection for the suppressed purposes. So every read and decision, not
// only audiences, keeps a returning person out of direct marketing (GDPR
// Art. 21(3)) until they subscribe again.
func (s *Service) OnSubjectCreated(ctx context.Context, tx store.Tx, tenantID, subjectID string, ids []store.Identity, now time.Time) error {
	var hashes [][]byte
	for _, id := range ids {
		if !slices.Contains(suppressKinds, id.Kind) {
			continue
		}
		h, err := s.SuppressionHash(ctx, tenantID, id.Kind, id.Blind)
		if err != nil {
			return err
		}
		hashes = append(hashes, h)
	}
	if len(hashes) == 0 {
		return nil
	}
	entries, err := tx.Suppressions(tenantID, hashes)
	if err != nil || len(entries) == 0 {
		return err
	}
	var purposes []string
	for _, e := range entries {
		if e.Purpose == "" {
			purposes = []string{""}
			break
		}
		if !slices.Contains(purposes, e.Purpose) {
			purposes = append(purposes, e.Purpose)
		}
	}
	for _, p := range purposes {
		o := store.Objection{TenantID: tenantID, ID: store.NewID(), SubjectID: subjectID, Purpose: p, Kind: store.ObjectDirectMarketing,
			Status: store.ObjectionUpheld, Reason: "on the marketing suppression list", Actor: "system:suppression", CreatedAt: now}
		if err := tx.AddObjection(o); err != nil {
			return err
		}
	}
	ev := Actor{ID: "system:suppression", Role: "system"}.event(actSuppressionApplied, subjectID)
	ev.Reason = "every direct-marketing purpose is suppressed"
	if purposes[0] != "" {
		ev.Reason = "suppressed purposes: " + strings.Join(purposes, ", ")
	}
	ev.At = now
	return s.Audit.Append(tx, tenantID, ev)
}
