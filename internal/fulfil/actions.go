package fulfil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"time"

	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/outbox"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/vault"
)

// export builds an access or portability export and, for portability with
// a TransmitURL, prepares the signed webhook that carries its download
// links to the other controller.
func (s *Service) export(ctx context.Context, w *work) error {
	if s.o.Exporter == nil {
		return ErrNoExporter
	}
	in := w.in
	portable := in.Type == policy.ReqPortability
	id, pw, err := s.o.Exporter.Build(ctx, in.TenantID, in.RequestID, in.SubjectID, portable)
	if err != nil {
		return err
	}
	w.res.ExportID, w.res.PDFPassword = id, pw
	if !portable || in.TransmitURL == "" {
		return nil
	}
	body := transmitBody{Event: EventExportTransmit, RequestID: in.RequestID, ExportID: id, Links: map[string]transmitLink{}}
	for _, format := range []string{"json", "csv"} {
		u, exp, err := s.o.Exporter.Link(ctx, in.TenantID, id, format)
		if err != nil {
			return err
		}
		body.Links[format] = transmitLink{URL: s.absolute(u), ExpiresAt: exp.UTC()}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	w.res.TransmitSecret = hex.EncodeToString(secret)
	w.transmit = &outbox.Webhook{URL: in.TransmitURL, Secret: []byte(w.res.TransmitSecret), Event: EventExportTransmit, Body: b}
	return nil
}

// subjectCategories returns the categories of the data the subject holds
// now: its fields' and the collections it has records in.
func subjectCategories(tx store.Tx, doc *policy.Document, tenantID, subjectID string) ([]string, error) {
	set := map[string]bool{}
	fields, err := tx.GetFields(tenantID, subjectID)
	if err != nil {
		return nil, err
	}
	for _, f := range fields {
		if def := doc.FieldByName(f.Field); def != nil {
			set[def.Category] = true
		}
	}
	for i := range doc.Policy.Collections {
		c := &doc.Policy.Collections[i]
		recs, err := tx.ListRecords(tenantID, subjectID, c.Name, "", 1)
		if err != nil {
			return nil, err
		}
		if len(recs) > 0 {
			set[c.Category] = true
		}
	}
	return sortedKeys(set), nil
}

// policyCategories returns every category the policy stores (fields and
// collections): what a subject may have held when its data is gone.
func policyCategories(doc *policy.Document) []string {
	set := map[string]bool{}
	for _, f := range doc.Policy.Fields {
		set[f.Category] = true
	}
	for _, c := range doc.Policy.Collections {
		set[c.Category] = true
	}
	return sortedKeys(set)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// erase erases the subject: the marketing suppression first (while its
// addresses are still known, so an opt-out outlives the account), then
// vault.Erase (which keeps what a legal hold or a kept_by_law rule
// requires); the recipients of the erased categories are told, and the
// application gets subject.erased. With Categories, only the fields of
// those categories are deleted (a partial erasure), not the subject.
func (s *Service) erase(ctx context.Context, w *work) error {
	in := w.in
	var cats []string
	var erased bool
	err := s.o.Store.Read(ctx, func(tx store.Tx) error {
		subj, err := tx.GetSubject(in.TenantID, in.SubjectID)
		if err != nil {
			return err
		}
		erased = subj.State == store.SubjectErased
		cats, err = subjectCategories(tx, w.doc, in.TenantID, in.SubjectID)
		return err
	})
	if err != nil {
		return err
	}
	w.action = "erasure"
	if len(in.Categories) > 0 {
		return s.erasePart(ctx, w)
	}
	if erased {
		// A run cut short after the vault erased: what was held is no
		// longer known, so every category the policy stores is passed on
		// (telling a recipient too much is better than too little).
		cats = policyCategories(w.doc)
	} else if _, err := s.o.Consent.Unsubscribe(ctx, in.TenantID, in.SubjectID, "", store.MethodAPI, s.consentActor(in)); err != nil {
		return err
	}
	out, err := s.o.Vault.Erase(ctx, in.TenantID, in.SubjectID, s.vaultActor(in))
	if err != nil {
		return err
	}
	w.res.Kept = out.Kept
	w.erased = true
	// What is kept is not erased at recipients either: pass on only the
	// categories of which nothing is kept.
	keptCats := map[string]bool{}
	for _, k := range out.Kept {
		switch k.Kind {
		case "field":
			if f := w.doc.FieldByName(k.Name); f != nil {
				keptCats[f.Category] = true
			}
		default:
			if c := w.doc.CollectionByName(k.Name); c != nil {
				keptCats[c.Category] = true
			}
		}
	}
	w.cats = slices.DeleteFunc(cats, func(c string) bool { return keptCats[c] })
	w.auditCats = w.cats
	return nil
}

// erasePart deletes the subject's fields of the named categories.
func (s *Service) erasePart(ctx context.Context, w *work) error {
	in := w.in
	tax := w.doc.Taxonomy()
	var names []string
	err := s.o.Store.Read(ctx, func(tx store.Tx) error {
		fields, err := tx.GetFields(in.TenantID, in.SubjectID)
		if err != nil {
			return err
		}
		for _, f := range fields {
			def := w.doc.FieldByName(f.Field)
			if def == nil {
				continue
			}
			for _, c := range in.Categories {
				if tax.Covers(c, def.Category) {
					names = append(names, f.Field)
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := s.o.Vault.DeleteField(ctx, in.TenantID, in.SubjectID, n, s.vaultActor(in)); err != nil && !errors.Is(err, vault.ErrFieldNotSet) {
			return err
		}
	}
	w.cats = in.Categories
	w.auditCats = in.Categories
	return nil
}

// restrict places a restriction (GDPR Art. 18) in the final transaction.
func (s *Service) restrict(w *work) {
	in := w.in
	s.addRestriction(w, in.Ground, in.Categories, in.AllowedPurposes, in.Reason)
	w.action = "restriction"
	w.cats = in.Categories
	w.auditCats = in.Categories
}

func (s *Service) addRestriction(w *work, ground string, cats, allowed []string, reason string) {
	in := w.in
	id := store.NewID()
	w.res.Controls = append(w.res.Controls, id)
	w.inTx = append(w.inTx, func(tx store.Tx, now time.Time) error {
		return tx.AddRestriction(store.Restriction{TenantID: in.TenantID, ID: id, SubjectID: in.SubjectID, Categories: cats,
			Ground: ground, Reason: reason, AllowedPurposes: allowed, RequestID: in.RequestID, Actor: in.Actor, CreatedAt: now})
	})
}

// CPRALimitBases are the legal bases of the purposes a CCPA "limit the use
// of my sensitive personal information" request still allows. Cal. Civ.
// Code § 1798.121(a) and 11 CCR § 7027(m) permit the uses necessary to
// perform the services or provide the goods the consumer asked for, to
// keep them secure, and to comply with the law; in a policy those are the
// purposes based on contract or on a legal obligation. Everything else
// (analytics, marketing, profiling on legitimate interests or consent) is
// refused by the decision engine while the restriction stands.
var CPRALimitBases = []policy.LegalBasis{policy.BasisContract, policy.BasisLegalObligation}

// limit records a CCPA limit as a restriction of the sensitive categories
// the subject holds (or those named) allowing only the CPRA purposes. The
// store's restriction grounds are those of GDPR Art. 18(1); the limit is
// stored under unlawful_processing, the ground whose effect (restrict
// instead of erase, on the person's request) it shares, with a reason
// naming the CCPA.
func (s *Service) limit(w *work) {
	in, doc := w.in, w.doc
	cats := in.Categories
	if len(cats) == 0 {
		set := map[string]bool{}
		for _, c := range policyCategories(doc) {
			if doc.IsSensitive(c) {
				set[c] = true
			}
		}
		cats = sortedKeys(set)
	}
	var allowed []string
	for _, p := range doc.Policy.Purposes {
		if slices.Contains(CPRALimitBases, p.LegalBasis) {
			allowed = append(allowed, p.Key)
		}
	}
	reason := "CCPA limit on the use of sensitive personal information (Cal. Civ. Code 1798.121)"
	if in.Reason != "" {
		reason += ": " + in.Reason
	}
	if len(cats) == 0 {
		w.res.Summary = "The policy holds no sensitive personal information, so there is nothing to limit."
		return
	}
	s.addRestriction(w, store.GroundUnlawfulProcessing, cats, allowed, reason)
	w.auditCats = cats
}

// object records an objection (GDPR Art. 21). A direct-marketing
// objection to every direct-marketing purpose is an unsubscribe (upheld at
// once, consents withdrawn, addresses suppressed); one to a single purpose
// is upheld at once too. Other objections are pending an assessment, which
// the decision engine treats as a restriction meanwhile (Art. 18(1)(d)).
func (s *Service) object(ctx context.Context, w *work) error {
	in := w.in
	if in.ObjectionKind == store.ObjectDirectMarketing && in.Purpose == "" {
		out, err := s.o.Consent.Unsubscribe(ctx, in.TenantID, in.SubjectID, "", store.MethodAPI, s.consentActor(in))
		if err != nil {
			return err
		}
		w.res.Controls = append(w.res.Controls, out.ObjectionID)
		return nil
	}
	id := store.NewID()
	w.res.Controls = append(w.res.Controls, id)
	w.inTx = append(w.inTx, func(tx store.Tx, now time.Time) error {
		return tx.AddObjection(store.Objection{TenantID: in.TenantID, ID: id, SubjectID: in.SubjectID, Purpose: in.Purpose,
			Kind: in.ObjectionKind, Reason: in.Reason, RequestID: in.RequestID, Actor: in.Actor, CreatedAt: now})
	})
	return nil
}

// withdraw withdraws consent for the purpose, or for every purpose the
// person has consent in force for, skipping those already withdrawn (so a
// repeated run appends nothing).
func (s *Service) withdraw(ctx context.Context, w *work) error {
	in := w.in
	var current []store.ConsentState
	if err := s.o.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		current, err = tx.CurrentConsents(in.TenantID, in.SubjectID)
		return err
	}); err != nil {
		return err
	}
	given := map[string]bool{}
	for _, c := range current {
		given[c.Purpose] = c.Kind == store.ConsentGiven
	}
	var choices []consent.Choice
	for _, p := range w.doc.Policy.Purposes {
		if p.LegalBasis != policy.BasisConsent || (in.Purpose != "" && p.Key != in.Purpose) {
			continue
		}
		// A named purpose is withdrawn even without consent on record (a
		// refusal stays on record); all purposes means those in force.
		if given[p.Key] || (in.Purpose != "" && !alreadyWithdrawn(current, p.Key)) {
			choices = append(choices, consent.Choice{Purpose: p.Key})
		}
	}
	if len(choices) == 0 {
		w.res.Summary = "There was no consent in force to withdraw."
		return nil
	}
	_, err := s.o.Consent.Record(ctx, in.TenantID, consent.RecordInput{SubjectID: in.SubjectID, Choices: choices,
		Method: store.MethodAPI, Source: "request:" + in.RequestID}, s.consentActor(in))
	return err
}

func alreadyWithdrawn(current []store.ConsentState, purpose string) bool {
	for _, c := range current {
		if c.Purpose == purpose {
			return c.Kind == store.ConsentWithdrawn
		}
	}
	return false
}

// optOut records the CCPA opt-out of sale and sharing.
func (s *Service) optOut(ctx context.Context, w *work) error {
	in := w.in
	var current []store.ConsentState
	if err := s.o.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		current, err = tx.CurrentConsents(in.TenantID, in.SubjectID)
		return err
	}); err != nil {
		return err
	}
	if alreadyWithdrawn(current, store.PurposeSaleShare) {
		return nil
	}
	_, err := s.o.Consent.Record(ctx, in.TenantID, consent.RecordInput{SubjectID: in.SubjectID,
		Choices: []consent.Choice{{Purpose: store.PurposeSaleShare, Given: false}}, Method: store.MethodAPI,
		Source: "request:" + in.RequestID}, s.consentActor(in))
	return err
}

// rectify applies the corrected values (the vault audits which fields
// changed and whether they had a value, never the values) and passes the
// change on to the recipients of the fields' categories.
func (s *Service) rectify(ctx context.Context, w *work) error {
	in := w.in
	up, err := s.o.Vault.Update(ctx, in.TenantID, in.SubjectID, vault.UpdateInput{Fields: in.Fields}, s.vaultActor(in))
	if err != nil {
		return err
	}
	set := map[string]bool{}
	for _, n := range append(append([]string{}, up.Changed...), up.Removed...) {
		if f := w.doc.FieldByName(n); f != nil {
			set[f.Category] = true
		}
	}
	w.action = "rectification"
	w.cats = sortedKeys(set)
	w.auditCats = w.cats
	return nil
}
