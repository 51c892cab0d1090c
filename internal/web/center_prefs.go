package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
)

// Cookie and marketing preferences (/p/{tenant}/preferences). A person
// signed in through self-service sees each consent-based purpose with what
// counts now and the receipt of their latest choice, and changes it here;
// the change is a ledger event like a banner choice (method banner), so
// the banner, the API and the decision engine all see it. Without a
// sign-in the page explains that cookie choices are made in the site's
// banner.

type prefRow struct {
	Key, Name, Desc, Status, StatusText, ReceiptID string
	At                                             time.Time
	Given                                          bool
	SaleShare                                      bool
}

type prefsData struct {
	CSRF      string
	SignedIn  bool
	Rows      []prefRow
	CCPA      bool
	Sites     []policy.Site
	Objection bool
}

func (s *Server) prefsPage(w http.ResponseWriter, r *http.Request, c *centerCtx) {
	ctx := r.Context()
	v := s.centerView(c.Tenant, c.Active, "preferences", "center.prefs.title", nil)
	if r.URL.Query().Get("done") == "saved" {
		v.Flash = v.T("center.prefs.saved")
	}
	doc := c.Doc()
	d := prefsData{CSRF: c.CSRF, CCPA: doc.Applies(policy.CCPA), Sites: doc.Policy.Sites}
	sub, err := s.me(r, c.Tenant.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if sub != "" && s.d.Consent != nil {
		st, err := s.d.Consent.State(ctx, c.Tenant.ID, sub, consent.Actor{ID: "subject", Role: "subject", RequestID: requestID(ctx)})
		switch {
		case errors.Is(err, consent.ErrNotFound):
			// Erased since signing in: shown as not signed in.
		case err != nil:
			s.fail(w, r, err)
			return
		default:
			d.SignedIn, d.Objection = true, st.MarketingObjection
			for _, p := range st.Purposes {
				row := prefRow{Key: p.Purpose, Name: p.Name, Status: p.Status, StatusText: v.T("center.consent." + p.Status),
					ReceiptID: p.ReceiptID}
				if p.At != nil {
					row.At = *p.At
				}
				if p.Purpose == store.PurposeSaleShare {
					if !d.CCPA {
						continue
					}
					row.SaleShare, row.Name = true, v.T("center.prefs.saleshare")
					row.Given = p.Status == consent.StatusOptedOut // "do not sell" is on
				} else {
					row.Given = p.Status == consent.StatusGiven
					if pp := doc.PurposeByKey(p.Purpose); pp != nil {
						row.Desc = pp.Description
					}
				}
				d.Rows = append(d.Rows, row)
			}
		}
	}
	v.Main = d
	s.render(w, r, http.StatusOK, "center/preferences", v)
}

// prefsSave records one choice of the signed-in person.
func (s *Server) prefsSave(w http.ResponseWriter, r *http.Request, c *centerCtx) {
	ctx := r.Context()
	sub := s.meSubject(w, r, c)
	if sub == "" {
		return
	}
	if s.d.Consent == nil {
		s.centerMessage(w, r, c, http.StatusNotFound, "center.missing.title", "center.missing.body", "", "")
		return
	}
	purpose := r.PostFormValue("purpose")
	on := r.PostFormValue("choice") == "on"
	choice := consent.Choice{Purpose: purpose, Given: on}
	if purpose == store.PurposeSaleShare {
		// The toggle is "do not sell or share": on means opted out.
		choice.Given = !on
	}
	in := consent.RecordInput{SubjectID: sub, Choices: []consent.Choice{choice}, Method: store.MethodBanner, Source: "privacy-center",
		Proof: consent.Proof{UserAgent: r.UserAgent()}}
	if a := s.centerLimit.client(r); a.IsValid() {
		in.Proof.IP = a.String()
	}
	_, err := s.d.Consent.Record(ctx, c.Tenant.ID, in, consent.Actor{ID: "subject", Role: "subject", RequestID: requestID(ctx)})
	var ie *consent.InputError
	if errors.As(err, &ie) {
		s.centerMessage(w, r, c, http.StatusUnprocessableEntity, "center.prefs.bad.title", "center.prefs.bad.body", "/p/"+c.Tenant.Slug+"/preferences", "center.prefs.back")
		return
	}
	if errors.Is(err, consent.ErrNotFound) || errors.Is(err, consent.ErrErased) {
		s.clearMe(w, r)
		s.centerMessage(w, r, c, http.StatusNotFound, "center.me.gone.title", "center.me.gone.body", "", "")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/p/"+c.Tenant.Slug+"/preferences?done=saved", http.StatusSeeOther)
}
