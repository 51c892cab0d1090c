package consent

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
)

// Choice is a person's choice for one purpose: given (true) or withdrawn
// (false). The purpose is a consent-based purpose of the policy, or
// "ccpa.sale_share" for the CCPA opt-out (given: false opts out of the
// sale and sharing of personal information).
type Choice struct {
	Purpose string `json:"purpose" maxLength:"64" doc:"Key of a purpose based on consent, or ccpa.sale_share for the CCPA \"do not sell or share\" choice (given false = opted out)." example:"newsletter"`
	Given   bool   `json:"given" doc:"true gives consent, false withdraws it (or refuses it)."`
}

// RecordInput is a batch of choices of one person, made at one time in one
// way.
type RecordInput struct {
	SubjectID string
	// BrowserID, if set, is the cookie banner's id of the person's browser:
	// its anonymous choices are attributed to the subject first, so the
	// banner's choices and GPC opt-outs follow the person.
	BrowserID string
	Choices   []Choice
	// Method is how the choice was expressed (store.Method*); default api.
	Method string
	// At is when the person chose (a paper form may be recorded later);
	// zero means now. It may not be in the future.
	At time.Time
	// Source says where the choice came from: a form, an application, a
	// campaign. No personal data.
	Source string
	Proof  Proof
}

// EventOut is one ledger event as the API shows it.
type EventOut struct {
	ReceiptID     string     `json:"receipt_id" doc:"The event's id: the receipt id a person can quote (GET /v1/consents/{receipt})."`
	Purpose       string     `json:"purpose" doc:"Purpose key, or ccpa.sale_share."`
	Kind          string     `json:"kind" enum:"given,withdrawn,expired" doc:"What happened."`
	Method        string     `json:"method" enum:"banner,checkbox,email,phone,paper,api,on_behalf,gpc,unsubscribe,system" doc:"How the choice was expressed."`
	At            time.Time  `json:"at" doc:"When the person made the choice."`
	ExpiresAt     *time.Time `json:"expires_at,omitempty" doc:"When a given consent ends by the purpose's consent lifetime."`
	RecordedAt    *time.Time `json:"recorded_at,omitempty" doc:"When Trustee wrote the event."`
	PolicyVersion int        `json:"policy_version" doc:"The policy version the person was shown."`
	PolicyHash    string     `json:"policy_hash,omitempty" doc:"Content hash of that policy version."`
	TextHash      string     `json:"text_hash,omitempty" doc:"SHA-256 of the request for consent as shown."`
	IPHash        string     `json:"ip_hash,omitempty" doc:"Keyed hash of the IP address; the address itself is never stored."`
	UserAgent     string     `json:"user_agent,omitempty"`
	PageURL       string     `json:"page_url,omitempty" doc:"The page, without query or fragment."`
	Source        string     `json:"source,omitempty"`
	Actor         string     `json:"actor,omitempty" doc:"Who recorded it: an API key, subject (an unsubscribe link), visitor (the banner)."`
	BrowserID     string     `json:"browser_id,omitempty" doc:"The banner's browser id, for choices made in a browser."`
	LinkedAt      *time.Time `json:"linked_at,omitempty" doc:"When the browser's choice was attributed to the subject."`
}

func eventOut(e store.ConsentEvent) EventOut {
	o := EventOut{ReceiptID: e.ID, Purpose: e.Purpose, Kind: e.Kind, Method: e.Method, At: e.At,
		PolicyVersion: e.PolicyVersion, PolicyHash: e.PolicyHash, TextHash: e.TextHash, IPHash: e.IPHash,
		UserAgent: e.UserAgent, PageURL: e.PageURL, Source: e.Source, Actor: e.Actor, BrowserID: e.BrowserID}
	o.ExpiresAt, o.RecordedAt, o.LinkedAt = timePtr(e.ExpiresAt), timePtr(e.RecordedAt), timePtr(e.LinkedAt)
	return o
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Recorded is the answer to recording choices.
type Recorded struct {
	SubjectID string    `json:"subject_id,omitempty" doc:"The subject the choices belong to."`
	BrowserID string    `json:"browser_id,omitempty" doc:"The browser the choices were made in, for banner choices."`
	ReceiptID string    `json:"receipt_id" doc:"Receipt id of the choice: the first event of the batch. GET /v1/consents/{receipt} shows every purpose chosen with it."`
	At        time.Time `json:"at" doc:"When the choice was made."`
	// ExpiresAt is the earliest expiry among the consents given, so a
	// banner knows when to ask again.
	ExpiresAt *time.Time `json:"expires_at,omitempty" doc:"The earliest end of the consents given, by the purposes' consent lifetimes; ask again then."`
	Linked    int        `json:"linked,omitempty" doc:"How many anonymous choices of browser_id were attributed to the subject."`
	Events    []EventOut `json:"events" doc:"One ledger event per purpose."`
}

// apiMethods are the methods an application may record; unsubscribe and
// system are Trustee's own.
var apiMethods = []string{store.MethodBanner, store.MethodCheckbox, store.MethodEmail, store.MethodPhone,
	store.MethodPaper, store.MethodAPI, store.MethodOnBehalf, store.MethodGPC}

var (
	browserIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)
	sourceRE    = regexp.MustCompile(`^[A-Za-z0-9._:/@+-]{0,128}$`)
)

// maxChoices bounds one batch: a policy has a few dozen purposes at most.
const maxChoices = 64

// futureSlack tolerates clocks of applications slightly ahead of ours.
const futureSlack = 5 * time.Minute

// Record appends the person's choices to the ledger, one event per
// purpose, all with the same time and proof, and returns the receipt. A
// consent given for a direct-marketing purpose also lifts an earlier
// direct-marketing objection and suppression as far as they stop that
// purpose (the person subscribed again), keeping them for the others.
func (s *Service) Record(ctx context.Context, tenantID string, in RecordInput, by Actor) (Recorded, error) {
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return Recorded{}, err
	}
	doc := a.Doc
	now := s.now()
	var ie InputError
	if in.Method == "" {
		in.Method = store.MethodAPI
	}
	if !slices.Contains(apiMethods, in.Method) {
		ie.Add("method", "must be one of %s", strings.Join(apiMethods, ", "))
	}
	if in.BrowserID != "" && !browserIDRE.MatchString(in.BrowserID) {
		ie.Add("browser_id", "must be 16 to 64 characters of A-Z, a-z, 0-9, - and _")
	}
	if !sourceRE.MatchString(in.Source) {
		ie.Add("source", "must be at most %d characters of letters, digits and ._:/@+- (no personal data)", maxSource)
	}
	at := now
	if !in.At.IsZero() {
		switch {
		case in.At.After(now.Add(futureSlack)):
			ie.Add("at", "is in the future")
		case in.At.Before(now.AddDate(-30, 0, 0)):
			ie.Add("at", "is more than 30 years ago")
		default:
			at = in.At.UTC().Truncate(time.Microsecond)
		}
	}
	s.checkChoices(doc, in.Choices, &ie)
	textHash, ipHash, ua, page, err := s.proof(ctx, tenantID, in.Proof, &ie)
	if err != nil {
		return Recorded{}, err
	}
	if err := ie.Err(); err != nil {
		return Recorded{}, err
	}

	events := make([]store.ConsentEvent, len(in.Choices))
	for i, c := range in.Choices {
		p, _, _ := consentPurpose(doc, c.Purpose)
		e := store.ConsentEvent{TenantID: tenantID, ID: store.NewID(), SubjectID: in.SubjectID, Purpose: c.Purpose,
			Kind: store.ConsentWithdrawn, PolicyVersion: a.Version.Version, PolicyHash: a.Version.Hash, Method: in.Method,
			TextHash: textHash, IPHash: ipHash, UserAgent: ua, PageURL: page, Source: in.Source, Actor: by.ID, At: at}
		if e.TextHash == "" && p != nil && p.Consent != nil && p.Consent.Text != "" {
			e.TextHash = TextHash(p.Consent.Text)
		}
		if c.Given {
			e.Kind = store.ConsentGiven
			e.ExpiresAt = expiry(p, at)
		}
		events[i] = e
	}
	out := Recorded{SubjectID: in.SubjectID, At: at}
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		out.Linked = 0
		subj, err := tx.GetSubject(tenantID, in.SubjectID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if subj.State == store.SubjectErased {
			return ErrErased
		}
		if in.BrowserID != "" {
			if out.Linked, err = tx.LinkBrowserConsents(tenantID, in.BrowserID, in.SubjectID, now); err != nil {
				return err
			}
		}
		for i := range events {
			if err := tx.AppendConsent(events[i]); err != nil {
				return err
			}
			if events[i].Kind == store.ConsentGiven {
				if p := doc.PurposeByKey(events[i].Purpose); p != nil && p.DirectMarketing {
					if err := s.resubscribe(ctx, tx, doc, tenantID, in.SubjectID, p.Key, now); err != nil {
						return err
					}
				}
			}
		}
		ev := by.event(actRecord, in.SubjectID)
		ev.Fields = choiceNames(events)
		ev.Reason = "method " + in.Method
		ev.At = now
		return s.Audit.Append(tx, tenantID, ev)
	})
	if err != nil {
		return Recorded{}, err
	}
	out.ReceiptID = events[0].ID
	for _, e := range events {
		out.Events = append(out.Events, eventOut(e))
		if !e.ExpiresAt.IsZero() && (out.ExpiresAt == nil || e.ExpiresAt.Before(*out.ExpiresAt)) {
			t := e.ExpiresAt
			out.ExpiresAt = &t
		}
	}
	return out, nil
}

// checkChoices reports unknown purposes, purposes that are not based on
// consent, and purposes chosen twice.
func (s *Service) checkChoices(doc *policy.Document, cs []Choice, ie *InputError) {
	switch {
	case len(cs) == 0:
		ie.Add("choices", "name at least one purpose")
		return
	case len(cs) > maxChoices:
		ie.Add("choices", "at most %d choices at once", maxChoices)
		return
	}
	seen := map[string]bool{}
	for _, c := range cs {
		field := "choices." + c.Purpose
		if seen[c.Purpose] {
			ie.Add(field, "is chosen twice")
			continue
		}
		seen[c.Purpose] = true
		p, _, ok := consentPurpose(doc, c.Purpose)
		switch {
		case ok:
		case p == nil:
			ie.Add("choices", "a purpose is not declared in the policy (nor ccpa.sale_share)")
		default:
			ie.Add(field, "is based on %s, not consent: there is no consent to give or withdraw (an objection or a restriction may apply instead)", p.LegalBasis)
		}
	}
}

// choiceNames are the audit log's record of a batch: purpose:kind, names
// only.
func choiceNames(es []store.ConsentEvent) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Purpose + ":" + e.Kind
	}
	return out
}

// Withdraw withdraws consent for one purpose: as easy as giving it, one
// call, effective for the next read.
func (s *Service) Withdraw(ctx context.Context, tenantID, subjectID, purpose string, by Actor) (Recorded, error) {
	return s.Record(ctx, tenantID, RecordInput{SubjectID: subjectID, Choices: []Choice{{Purpose: purpose}}, Method: store.MethodAPI}, by)
}

// resubscribe undoes, for one direct-marketing purpose the person just gave
// consent to, what an earlier unsubscribe or objection does to it: an
// upheld objection naming the purpose is withdrawn; one naming no purpose
// (all direct marketing) is withdrawn and replaced by one for each other
// direct-marketing purpose, so only this purpose opens again. The subject's
// suppression entries are narrowed the same way. This keeps consent and
// objection from disagreeing silently (docs/decisions.md).
func (s *Service) resubscribe(ctx context.Context, tx store.Tx, doc *policy.Document, tenantID, subjectID, purpose string, now time.Time) error {
	objs, err := tx.ListObjections(tenantID, subjectID)
	if err != nil {
		return err
	}
	others := slices.DeleteFunc(directMarketing(doc), func(k string) bool { return k == purpose })
	for _, o := range objs {
		if o.Status != store.ObjectionUpheld && o.Status != store.ObjectionPending {
			continue
		}
		switch {
		case o.Purpose == purpose:
		case o.Purpose == "" && o.Kind == store.ObjectDirectMarketing:
			for _, k := range others {
				if err := tx.AddObjection(store.Objection{TenantID: tenantID, ID: store.NewID(), SubjectID: subjectID, Purpose: k,
					Kind: store.ObjectDirectMarketing, Status: store.ObjectionUpheld, Reason: "kept from objection " + o.ID + " when the person subscribed again to " + purpose,
					RequestID: o.RequestID, Actor: o.Actor, CreatedAt: o.CreatedAt}); err != nil {
					return err
				}
			}
		default:
			continue
		}
		if err := tx.ResolveObjection(tenantID, o.ID, store.ObjectionWithdrawn, "the person gave consent to "+purpose+" again", now); err != nil {
			return err
		}
	}
	hashes, err := s.subjectSuppressionHashes(ctx, tx, tenantID, subjectID)
	if err != nil || len(hashes) == 0 {
		return err
	}
	entries, err := tx.Suppressions(tenantID, hashList(hashes))
	if err != nil {
		return err
	}
	for _, e := range entries {
		switch e.Purpose {
		case purpose:
		case "":
			for _, k := range others {
				if err := tx.Suppress(store.Suppression{TenantID: tenantID, Kind: e.Kind, Hash: e.Hash, Purpose: k, Reason: e.Reason, CreatedAt: e.CreatedAt}); err != nil {
					return err
				}
			}
		default:
			continue
		}
		if err := tx.LiftSuppression(tenantID, e.Kind, e.Hash, e.Purpose, now); err != nil {
			return err
		}
	}
	return nil
}
