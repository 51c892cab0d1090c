package consent

import (
	"context"
	"time"

	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
)

// MaxStatsDays bounds the dashboard's window, so one page view cannot ask
// the store to group years of ledger.
const MaxStatsDays = 366

// Stats are the tenant's consent choices over a window of days: what the
// privacy team watches to see whether the banner and the newsletter ask
// fairly (an opt-out rate near zero or one is worth a look) and how many
// people send a Global Privacy Control signal. Counts only, no subjects.
type Stats struct {
	Since time.Time `json:"since" doc:"Start of the window (midnight UTC)."`
	Until time.Time `json:"until" doc:"End of the window, exclusive."`
	// Purposes are the policy's consent-based purposes (and the CCPA
	// sale/share choice when recorded), in policy order, with their
	// totals over the window.
	Purposes []PurposeStats `json:"purposes"`
	// Days are the totals of every purpose per day, oldest first, one
	// entry per day of the window, zeros included.
	Days []DayStats `json:"days"`
	// Events counts every event in the window; GPC those recorded from a
	// Global Privacy Control signal.
	Events int `json:"events"`
	GPC    int `json:"gpc"`
	// GPCShare is GPC / Events (0 without events).
	GPCShare float64 `json:"gpc_share"`
	// Suppressed counts the addresses on the marketing suppression list now.
	Suppressed int `json:"suppressed"`
}

// PurposeStats are one purpose's totals over the window.
type PurposeStats struct {
	Purpose   string `json:"purpose"`
	Name      string `json:"name"`
	Given     int    `json:"given"`
	Withdrawn int    `json:"withdrawn"`
	Expired   int    `json:"expired"`
	// OptOutRate is Withdrawn / (Given + Withdrawn): the share of choices
	// that said no (0 without choices).
	OptOutRate float64 `json:"opt_out_rate"`
	// ByMethod counts events per method (banner, api, gpc, unsubscribe...).
	ByMethod map[string]int `json:"by_method"`
}

// DayStats are every purpose's totals on one day.
type DayStats struct {
	Day       time.Time `json:"day"`
	Given     int       `json:"given"`
	Withdrawn int       `json:"withdrawn"`
	Expired   int       `json:"expired"`
}

// Stats returns the consent statistics of the last days days up to and
// including today (UTC). days must be 1 to MaxStatsDays.
func (s *Service) Stats(ctx context.Context, tenantID string, days int) (Stats, error) {
	if days < 1 || days > MaxStatsDays {
		ie := &InputError{}
		ie.Add("days", "must be between 1 and %d", MaxStatsDays)
		return Stats{}, ie.Err()
	}
	a, err := s.active(ctx, tenantID)
	if err != nil {
		return Stats{}, err
	}
	now := s.now().UTC()
	until := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	since := until.AddDate(0, 0, -days)
	var rows []store.ConsentStat
	var suppressed int
	err = s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		if rows, err = tx.ConsentStats(tenantID, since, until); err != nil {
			return err
		}
		suppressed, err = tx.CountSuppressions(tenantID)
		return err
	})
	if err != nil {
		return Stats{}, err
	}
	out := Stats{Since: since, Until: until, Suppressed: suppressed, Days: make([]DayStats, days)}
	for i := range out.Days {
		out.Days[i].Day = since.AddDate(0, 0, i)
	}
	byPurpose := map[string]*PurposeStats{}
	var order []string
	for _, p := range a.Doc.Policy.Purposes {
		if p.LegalBasis == policy.BasisConsent {
			byPurpose[p.Key] = &PurposeStats{Purpose: p.Key, Name: p.Name, ByMethod: map[string]int{}}
			order = append(order, p.Key)
		}
	}
	for _, r := range rows {
		ps := byPurpose[r.Purpose]
		if ps == nil {
			// A purpose removed from the policy since, or the CCPA choice.
			name := r.Purpose
			if r.Purpose == store.PurposeSaleShare {
				name = "Sale or sharing (CCPA)"
			}
			ps = &PurposeStats{Purpose: r.Purpose, Name: name, ByMethod: map[string]int{}}
			byPurpose[r.Purpose] = ps
			order = append(order, r.Purpose)
		}
		d := &out.Days[int(r.Day.Sub(since)/(24*time.Hour))]
		switch r.Kind {
		case store.ConsentGiven:
			ps.Given += r.Count
			d.Given += r.Count
		case store.ConsentWithdrawn:
			ps.Withdrawn += r.Count
			d.Withdrawn += r.Count
		case store.ConsentExpired:
			ps.Expired += r.Count
			d.Expired += r.Count
		}
		ps.ByMethod[r.Method] += r.Count
		out.Events += r.Count
		if r.Method == store.MethodGPC {
			out.GPC += r.Count
		}
	}
	for _, k := range order {
		ps := byPurpose[k]
		if n := ps.Given + ps.Withdrawn; n > 0 {
			ps.OptOutRate = float64(ps.Withdrawn) / float64(n)
		}
		out.Purposes = append(out.Purposes, *ps)
	}
	if out.Events > 0 {
		out.GPCShare = float64(out.GPC) / float64(out.Events)
	}
	return out, nil
}
