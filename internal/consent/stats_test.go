package consent_test

import (
	"errors"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/consent"
	"github.com/trustee-privacy/trustee/internal/store"
)

// The dashboard's numbers: totals and opt-out rate per consent purpose in
// policy order, one entry per day of the window, nothing from outside it.
func TestStats(t *testing.T) {
	eachEngine(t, func(t *testing.T, f *fixture) {
		ada, bo := f.person("ada@example.org"), f.person("bo@example.org")
		f.record(ada, give("analytics_cookies"), give("newsletter")) // 8 days ago: outside a 7-day window
		f.clock.AddDate(0, 0, 8)
		f.record(bo, give("analytics_cookies"))
		f.clock.Add(time.Hour)
		f.record(ada, withdraw("analytics_cookies"))
		f.record(bo, withdraw("analytics_cookies"))
		f.clock.AddDate(0, 0, 1)
		f.record(bo, give("analytics_cookies"))

		st, err := f.svc.Stats(f.ctx, f.tn.ID, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Days) != 7 || !st.Until.Equal(st.Since.AddDate(0, 0, 7)) || st.Since.Hour() != 0 {
			t.Fatalf("window: %s to %s, %d days", st.Since, st.Until, len(st.Days))
		}
		if st.Events != 4 || st.GPC != 0 || st.GPCShare != 0 {
			t.Errorf("totals: %+v", st)
		}
		var analytics, newsletter *consent.PurposeStats
		for i := range st.Purposes {
			switch st.Purposes[i].Purpose {
			case "analytics_cookies":
				analytics = &st.Purposes[i]
			case "newsletter":
				newsletter = &st.Purposes[i]
			case "account":
				t.Error("a purpose that is not consent-based is listed")
			}
		}
		if analytics == nil || analytics.Given != 2 || analytics.Withdrawn != 2 || analytics.OptOutRate != 0.5 ||
			analytics.ByMethod[store.MethodCheckbox] != 4 || analytics.Name != "Website analytics" {
			t.Errorf("analytics: %+v", analytics)
		}
		if newsletter == nil || newsletter.Given != 0 || newsletter.OptOutRate != 0 {
			t.Errorf("newsletter (choices only before the window): %+v", newsletter)
		}
		last, prev := st.Days[6], st.Days[5]
		if last.Given != 1 || last.Withdrawn != 0 || prev.Given != 1 || prev.Withdrawn != 2 || st.Days[0].Given != 0 {
			t.Errorf("days: %+v", st.Days)
		}
		for _, days := range []int{0, -1, consent.MaxStatsDays + 1} {
			var ie *consent.InputError
			if _, err := f.svc.Stats(f.ctx, f.tn.ID, days); !errors.As(err, &ie) {
				t.Errorf("days=%d: %v, want an input error", days, err)
			}
		}
	})
}
