package breach

import (
	"fmt"
	"strings"

	"github.com/trustee-privacy/trustee/internal/policy"
)

// LargeBreach is the number of people from which the volume alone makes a
// breach high risk.
const LargeBreach = 1000

// highRiskPrefixes are categories whose exposure is likely to cause
// identity theft, fraud or financial loss (EDPB Guidelines 9/2022 examples):
// credentials, financial data and government ids.
var highRiskPrefixes = []string{"user.authorization", "user.financial", "user.government_id"}

// covers reports whether category parent is cat or one of its ancestors.
func covers(parent, cat string) bool {
	return cat == parent || strings.HasPrefix(cat, parent+".")
}

// Suggest proposes a risk level for the DPO to confirm, with the reasons in
// plain words. Data that stayed encrypted with uncompromised keys is low risk
// (Art. 34(3)(a)) whatever it holds; otherwise special categories,
// credentials, financial data, government ids, children or a large number
// of people make it high; any people or categories concerned make it a
// risk; nothing concerned is low.
func Suggest(d Details, affected int64, tax *policy.Taxonomy) (string, []string) {
	if d.Encrypted {
		return RiskLow, []string{"the data stayed encrypted and the keys were not compromised, so it is unintelligible to whoever has it (Art. 34(3)(a))"}
	}
	var reasons []string
	cats := append(append([]string{}, d.Categories...), d.Scope.Categories...)
	for _, c := range cats {
		if tax != nil {
			if info, ok := tax.Lookup(c); ok && info.Special {
				reasons = append(reasons, fmt.Sprintf("%s is a special category of personal data (Art. 9)", c))
				continue
			}
		}
		for _, p := range highRiskPrefixes {
			if covers(p, c) {
				reasons = append(reasons, fmt.Sprintf("%s can be used for fraud or identity theft", c))
				break
			}
		}
	}
	if d.Children {
		reasons = append(reasons, "children's data is concerned")
	}
	n := max(affected, 0)
	if n >= LargeBreach {
		reasons = append(reasons, fmt.Sprintf("%d people are concerned", n))
	}
	if len(reasons) > 0 {
		return RiskHigh, reasons
	}
	if n > 0 || len(cats) > 0 {
		return RiskRisk, []string{fmt.Sprintf("personal data of %d people was exposed in readable form", n)}
	}
	return RiskLow, []string{"no people or data categories are known to be concerned yet"}
}
