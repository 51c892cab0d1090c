package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/rights"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// Signed-in self-service (/p/{tenant}/me). The application links here with
// a subject token (POST /v1/subjects/{id}/token); the first visit exchanges
// it for the self-service cookie and redirects to drop it from the URL.
// What the page shows is read through the access-right path (vault.Export,
// audited as the subject themself), and every action is a data-subject
// request through internal/rights, so the privacy team sees and decides it
// like any other.

// meRecordLimit bounds how many collection records the page shows; the
// download has all of them.
const meRecordLimit = 50

// errEnough stops the export read once the page has what it shows.
var errEnough = errors.New("web: enough records for the page")

type meField struct {
	Name, Label, Category, Value string
	Purposes                     []string
	Updated                      time.Time
}

type meCollection struct {
	Name, Label, Category string
	Purposes              []string
	Records               []meRecord
	More                  bool
}

type meRecord struct {
	At    time.Time
	Value string
}

type meRequest struct {
	TypeName, StatusText, URL string
	Received, Due             time.Time
}

type mePurpose struct {
	Key, Name, Kind string
}

type keptRule struct {
	What, For, Law string
}

type meData struct {
	CSRF        string
	Fields      []meField
	Collections []meCollection
	Consents    []consent.PurposeState
	Requests    []meRequest
	Expires     time.Time
	// Actions.
	FieldOptions []option
	Marketing    []mePurpose // objection to direct marketing: immediate
	Objectable   []mePurpose // objection to legitimate interests: staff decide
	Grounds      []option
	Kept         []keptRule
	Backup       string
	Levels       map[string]string
	Restricted   bool
	ObjectedAll  bool
}

// meSubject returns the signed-in subject, or renders the page that says
// how to sign in and returns "".
func (s *Server) meSubject(w http.ResponseWriter, r *http.Request, c *centerCtx) string {
	sub, err := s.me(r, c.Tenant.ID)
	if err != nil {
		s.fail(w, r, err)
		return ""
	}
	if sub == "" {
		s.centerMessage(w, r, c, http.StatusUnauthorized, "center.me.signin.title", "center.me.signin.body", "", "")
	}
	return sub
}

func (s *Server) mePage(w http.ResponseWriter, r *http.Request, c *centerCtx) {
	ctx := r.Context()
	if tok := r.URL.Query().Get("token"); tok != "" {
		now := s.now()
		sub, err := rights.ConsumeToken(ctx, s.d.Store, s.d.Keys, c.Tenant.ID, tok, now)
		if errors.Is(err, rights.ErrBadToken) || errors.Is(err, rights.ErrTokenUsed) {
			s.clearMe(w, r)
			s.centerMessage(w, r, c, http.StatusForbidden, "center.me.badtoken.title", "center.me.badtoken.body", "", "")
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if err := s.setMe(w, r, c.Tenant.ID, sub, now.Add(MeTTL)); err != nil {
			s.fail(w, r, err)
			return
		}
		http.Redirect(w, r, "/p/"+c.Tenant.Slug+"/me", http.StatusSeeOther)
		return
	}
	sub := s.meSubject(w, r, c)
	if sub == "" {
		return
	}
	doc := c.Doc()
	v := s.centerView(c.Tenant, c.Active, "me", "center.me.title", nil)
	v.Flash = meFlash(v, r.URL.Query().Get("done"))
	d := meData{CSRF: c.CSRF, FieldOptions: fieldOptions(doc), Levels: map[string]string{}}
	if ck, err := r.Cookie(s.centerCookie(r, meCookieSecure, meCookiePlain)); err == nil {
		d.Expires = meExpiry(ck.Value)
	}
	by := vault.Actor{ID: "subject", Role: "subject", RequestID: requestID(ctx)}
	cols := map[string]*meCollection{}
	shown := 0
	err := s.d.Vault.Export(ctx, c.Tenant.ID, sub, by, func(it vault.Item) error {
		switch it.Kind {
		case vault.ItemField:
			d.Fields = append(d.Fields, meField{Name: it.Name, Label: fieldLabel(doc, it.Name), Category: doc.Taxonomy().Name(it.Category),
				Value: plainValue(it.Value), Purposes: purposeNames(doc, it.Category), Updated: it.UpdatedAt})
		case vault.ItemRecord:
			col := cols[it.Name]
			if col == nil {
				col = &meCollection{Name: it.Name, Label: collectionLabel(doc, it.Name), Category: doc.Taxonomy().Name(it.Category),
					Purposes: purposeNames(doc, it.Category)}
				cols[it.Name] = col
			}
			if shown >= meRecordLimit {
				col.More = true
				return errEnough
			}
			shown++
			col.Records = append(col.Records, meRecord{At: it.CollectedAt, Value: plainValue(it.Value)})
		}
		return nil
	})
	if errors.Is(err, vault.ErrNotFound) || errors.Is(err, vault.ErrErased) {
		s.clearMe(w, r)
		s.centerMessage(w, r, c, http.StatusNotFound, "center.me.gone.title", "center.me.gone.body", "", "")
		return
	}
	if err != nil && !errors.Is(err, errEnough) {
		s.fail(w, r, err)
		return
	}
	names := make([]string, 0, len(cols))
	for n := range cols {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		d.Collections = append(d.Collections, *cols[n])
	}
	if s.d.Consent != nil {
		st, err := s.d.Consent.State(ctx, c.Tenant.ID, sub, consent.Actor{ID: "subject", Role: "subject", RequestID: requestID(ctx)})
		if err != nil && !errors.Is(err, consent.ErrNotFound) {
			s.fail(w, r, err)
			return
		}
		d.Consents, d.ObjectedAll = st.Purposes, st.MarketingObjection
	}
	reqs, err := s.d.Rights.List(ctx, c.Tenant.ID, rights.Filter{SubjectID: sub, Limit: 50})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, q := range reqs {
		tok, err := s.d.Rights.StatusToken(ctx, c.Tenant.ID, q.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.Requests = append(d.Requests, meRequest{TypeName: v.T("center.type." + q.Type), StatusText: v.T("center.status." + q.Status),
			URL: statusURL(c.Tenant.Slug, q.ID, tok), Received: q.ReceivedAt, Due: q.DueAt})
	}
	for _, p := range doc.Policy.Purposes {
		switch {
		case p.DirectMarketing:
			d.Marketing = append(d.Marketing, mePurpose{Key: p.Key, Name: p.Name})
		case p.LegalBasis == policy.BasisLegitimateInterests:
			d.Objectable = append(d.Objectable, mePurpose{Key: p.Key, Name: p.Name})
		}
	}
	for _, g := range []string{store.GroundAccuracyContested, store.GroundUnlawfulProcessing, store.GroundNoLongerNeededButClaims, store.GroundObjectionPending} {
		d.Grounds = append(d.Grounds, option{Value: g, Label: v.T("center.ground." + g)})
	}
	for _, t := range []policy.RequestType{policy.ReqAccess, policy.ReqRectification, policy.ReqErasure, policy.ReqRestriction, policy.ReqObjection} {
		d.Levels[string(t)] = string(rights.Level(doc.Policy, t))
	}
	d.Kept = keptByLaw(doc)
	d.Backup = doc.Policy.BackupRetention.Human()
	v.Main = d
	s.render(w, r, http.StatusOK, "center/me", v)
}

// meExpiry reads the expiry of a cookie value already checked.
func meExpiry(tok string) time.Time {
	m, _ := parseMeToken(tok)
	return m.exp
}

// plainValue shows a JSON value as text: strings without quotes, other
// values as compact JSON.
func plainValue(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func purposeNames(doc *policy.Document, category string) []string {
	var out []string
	for _, p := range doc.PurposesUsing(category) {
		out = append(out, p.Name)
	}
	return out
}

func collectionLabel(doc *policy.Document, name string) string {
	if c := doc.CollectionByName(name); c != nil && c.Description != "" {
		return c.Description
	}
	return name
}

// keptByLaw lists what an erasure keeps: every field and collection whose
// retention rule names a law, how long and why.
func keptByLaw(doc *policy.Document) []keptRule {
	var out []keptRule
	add := func(name, label string) {
		if rr := doc.RetentionFor(name); rr != nil && rr.KeptByLaw != "" {
			out = append(out, keptRule{What: label, For: rr.Duration.Human(), Law: rr.KeptByLaw})
		}
	}
	for _, f := range doc.Policy.Fields {
		add(f.Name, fieldLabel(doc, f.Name))
	}
	for _, c := range doc.Policy.Collections {
		add(c.Name, collectionLabel(doc, c.Name))
	}
	return out
}

func meFlash(v *view, code string) string {
	switch code {
	case "correct", "access", "erase", "restrict", "object", "objected", "signedout":
		return v.T("center.me.done." + code)
	}
	return ""
}

// meAction files the self-service requests. Each is a rights request of
// the signed-in subject, verified by the application's sign-in where the
// policy accepts that (email_code or app_token); staff approve them, except
// an objection to direct marketing, which needs no verification and is
// carried out at once (GDPR Art. 21(3)).
func (s *Server) meAction(w http.ResponseWriter, r *http.Request, c *centerCtx) {
	action := r.PathValue("action")
	if action == "sign-out" {
		s.clearMe(w, r)
		http.Redirect(w, r, "/p/"+c.Tenant.Slug+"/", http.StatusSeeOther)
		return
	}
	sub := s.meSubject(w, r, c)
	if sub == "" {
		return
	}
	ctx := r.Context()
	doc := c.Doc()
	in := rights.Input{SubjectID: sub, Channel: rights.ChannelPrivacyCenter, Details: rights.Details{Reason: r.PostFormValue("reason")}}
	gdpr := doc.Applies(policy.GDPR) || doc.Applies(policy.UKGDPR)
	pick := func(g, ccpa policy.RequestType) string {
		if gdpr || ccpa == "" {
			return string(g)
		}
		return string(ccpa)
	}
	done := action
	switch action {
	case "correct":
		in.Type = pick(policy.ReqRectification, policy.ReqCCPACorrect)
		field := r.PostFormValue("field")
		val, _ := json.Marshal(r.PostFormValue("value"))
		if field != "" {
			in.Fields = map[string]json.RawMessage{field: val}
		}
	case "access":
		in.Type = pick(policy.ReqAccess, policy.ReqCCPAKnow)
	case "erase":
		in.Type = pick(policy.ReqErasure, policy.ReqCCPADelete)
		if r.PostFormValue("confirm") != "yes" {
			s.meError(w, r, c, "center.me.erase.confirm")
			return
		}
	case "restrict":
		in.Type, in.Ground = string(policy.ReqRestriction), r.PostFormValue("ground")
	case "object":
		in.Type, in.Purpose = string(policy.ReqObjection), r.PostFormValue("purpose")
		p := doc.PurposeByKey(in.Purpose)
		switch {
		case p != nil && p.DirectMarketing:
			in.ObjectionKind = store.ObjectDirectMarketing
			done = "objected"
		case p != nil && p.LegalBasis == policy.BasisLegitimateInterests:
			in.ObjectionKind = store.ObjectLegitimateInterest
		default:
			s.meError(w, r, c, "center.me.object.badpurpose")
			return
		}
	default:
		s.centerMessage(w, r, c, http.StatusNotFound, "center.missing.title", "center.missing.body", "", "")
		return
	}
	if !gdpr && (in.Type == string(policy.ReqRestriction) || in.Type == string(policy.ReqObjection)) {
		s.meError(w, r, c, "center.me.notavailable")
		return
	}
	now := s.now()
	// The self-service cookie proves the application signed the person in:
	// where the policy accepts that (a subject token), the request is
	// verified with a fresh, short token; a manual check stays with staff.
	if lvl := rights.Level(doc.Policy, policy.RequestType(in.Type)); lvl == policy.VerifyEmailCode || lvl == policy.VerifyAppToken {
		tok, _, err := rights.MintToken(ctx, s.d.Keys, c.Tenant.ID, sub, time.Minute, now)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		in.SubjectToken = tok
	}
	by := rights.Actor{ID: "subject", Role: "subject", RequestID: requestID(ctx)}
	created, err := s.d.Rights.Create(ctx, c.Tenant.ID, in, by)
	var ie *rights.InputError
	if errors.As(err, &ie) {
		msgs := make([]string, 0, len(ie.Problems))
		for _, p := range ie.Problems {
			msgs = append(msgs, upper(p.Message))
		}
		v := s.centerView(c.Tenant, c.Active, "me", "center.me.title", nil)
		s.centerMessageText(w, r, c, http.StatusUnprocessableEntity, "center.me.bad.title", v.T("center.me.bad.body", strings.Join(msgs, "; ")))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if done == "objected" && created.Request.Verified() {
		// No verification is needed to stop direct marketing, and nothing
		// to decide: it is carried out now.
		if _, err := s.d.Rights.Approve(ctx, c.Tenant.ID, created.Request.ID, by); err != nil {
			s.fail(w, r, err)
			return
		}
	} else if done == "objected" {
		done = "object"
	}
	http.Redirect(w, r, "/p/"+c.Tenant.Slug+"/me?done="+done, http.StatusSeeOther)
}

func (s *Server) meError(w http.ResponseWriter, r *http.Request, c *centerCtx, key string) {
	v := s.centerView(c.Tenant, c.Active, "me", "center.me.title", nil)
	s.centerMessageText(w, r, c, http.StatusUnprocessableEntity, "center.me.bad.title", v.T(key))
}

func (s *Server) centerMessageText(w http.ResponseWriter, r *http.Request, c *centerCtx, status int, titleKey, body string) {
	v := s.centerView(c.Tenant, c.Active, "", titleKey, nil)
	v.Main = messageData{Heading: v.Title, Body: body, Link: "/p/" + c.Tenant.Slug + "/me", LinkText: v.T("center.me.back")}
	s.render(w, r, status, "center/message", v)
}
