package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// consentWindows are the dashboard's choice of windows, in days.
var consentWindows = []int{7, 30, 90, 365}

type consentData struct {
	Stats   consent.Stats
	Days    int
	Windows []int
	// Max is the largest day total, for scaling the bars.
	Max int
}

// consentPage is the consent dashboard: counts per purpose and day, opt-out
// rates and the share of Global Privacy Control signals. It shows counts
// only, so it is not audited as a view of personal data.
func (s *Server) consentPage(w http.ResponseWriter, r *http.Request, a *adminInfo) {
	if s.d.Consent == nil {
		s.errorPage(w, r, http.StatusNotFound, "The consent dashboard is not available on this server.")
		return
	}
	days := 30
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > consent.MaxStatsDays {
			s.errorPage(w, r, http.StatusBadRequest, "The window must be a number of days from 1 to 366.")
			return
		}
		days = n
	}
	st, err := s.d.Consent.Stats(r.Context(), a.Tenant.ID, days)
	if errors.Is(err, tenant.ErrNoPolicy) {
		s.errorPage(w, r, http.StatusConflict, "This organisation has no policy yet: apply one on the Policy page first.")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := consentData{Stats: st, Days: days, Windows: consentWindows}
	for _, day := range st.Days {
		d.Max = max(d.Max, day.Given+day.Withdrawn+day.Expired)
	}
	s.render(w, r, http.StatusOK, "admin/consent", &view{Title: "Consent", Admin: a, Main: d})
}
