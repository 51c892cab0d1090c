package consent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/trustee-privacy/trustee/internal/policy"
	"github.com/trustee-privacy/trustee/internal/store"
	"github.com/trustee-privacy/trustee/internal/tenant"
)

// Receipts.
//
// Every ledger event's id is a receipt id. A receipt shows the choice made
// with it: the event and the other events of the same batch (same person,
// time, method, source and actor), in the shape of the Kantara Initiative
// Consent Receipt Specification v1.1 (its field names, so tools that read
// those receipts read these), with Trustee's own facts under "trustee".
// docs/consent.md maps each field to the Kantara specification and to the
// ISO/IEC TS 27560 consent record.

// KantaraVersion is the Kantara receipt format version receipts follow.
const KantaraVersion = "KI-CR-v1.1.0"

// Receipt is a consent receipt.
type Receipt struct {
	Version          string              `json:"version" doc:"Receipt format: KI-CR-v1.1.0 (Kantara Consent Receipt Specification v1.1)." example:"KI-CR-v1.1.0"`
	Jurisdiction     string              `json:"jurisdiction" doc:"Where the controller is established, and the laws the policy applies." example:"NO; GDPR, CCPA"`
	ConsentTimestamp int64               `json:"consentTimestamp" doc:"When the choice was made, in seconds since 1970 (UTC)."`
	CollectionMethod string              `json:"collectionMethod" doc:"How the choice was collected, in words."`
	ConsentReceiptID string              `json:"consentReceiptID" doc:"The receipt id (the first event of the choice)."`
	Language         string              `json:"language" doc:"Language of the policy texts quoted." example:"en"`
	PIIPrincipalID   string              `json:"piiPrincipalId" doc:"The person: a Trustee subject id, or browser:<id> for a choice made in a browser not linked to a subject. Never an email address."`
	PIIControllers   []ReceiptController `json:"piiControllers"`
	PolicyURL        string              `json:"policyUrl" doc:"The privacy notice."`
	Services         []ReceiptService    `json:"services" doc:"The purposes chosen, one service per purpose."`
	Sensitive        bool                `json:"sensitive" doc:"Whether special category data (GDPR Art. 9) is involved."`
	SPICat           []string            `json:"spiCat" doc:"The special categories involved."`
	Trustee          ReceiptDetails      `json:"trustee" doc:"Trustee's record of the events: states, proof, policy version and hash."`
}

// ReceiptController is the controller as the receipt names it.
type ReceiptController struct {
	PIIController    string         `json:"piiController"`
	OnBehalf         bool           `json:"onBehalf" doc:"True when the tenant collects as a processor for another controller."`
	Contact          string         `json:"contact" doc:"Whom to contact: the DPO if there is one."`
	Address          ReceiptAddress `json:"address"`
	Email            string         `json:"email"`
	Phone            string         `json:"phone,omitempty"`
	PIIControllerURL string         `json:"piiControllerUrl,omitempty"`
}

// ReceiptAddress is a postal address.
type ReceiptAddress struct {
	StreetAddress  string `json:"streetAddress"`
	AddressCountry string `json:"addressCountry"`
}

// ReceiptService is one purpose of a receipt.
type ReceiptService struct {
	Service  string           `json:"service" doc:"The purpose's name."`
	Purposes []ReceiptPurpose `json:"purposes"`
}

// ReceiptPurpose describes what the person chose about.
type ReceiptPurpose struct {
	Purpose              string   `json:"purpose" doc:"What is done with the data, as the policy says."`
	PurposeCategory      []string `json:"purposeCategory" doc:"Kantara purpose category (Core Function, Marketing, Improve Performance, Personalized Experience, Marketing Third Parties, Sharing for Marketing)."`
	ConsentType          string   `json:"consentType" enum:"EXPLICIT" doc:"Always EXPLICIT: every method Trustee records is an affirmative act."`
	PIICategory          []string `json:"piiCategory" doc:"Data categories the purpose uses."`
	PrimaryPurpose       bool     `json:"primaryPurpose" doc:"Whether the purpose is needed for the service the person asked for; false for consent-based purposes."`
	Termination          string   `json:"termination" doc:"When the consent ends and how to withdraw it."`
	ThirdPartyDisclosure bool     `json:"thirdPartyDisclosure" doc:"Whether data goes to recipients that are not our processors."`
	ThirdPartyName       string   `json:"thirdPartyName,omitempty" doc:"Those recipients."`
}

// ReceiptDetails are Trustee's facts about the choice.
type ReceiptDetails struct {
	ReceiptID     string              `json:"receipt_id"`
	SubjectID     string              `json:"subject_id,omitempty"`
	BrowserID     string              `json:"browser_id,omitempty"`
	Site          string              `json:"site,omitempty" doc:"The banner site the choice was made on."`
	Method        string              `json:"method"`
	At            time.Time           `json:"at"`
	PolicyVersion int                 `json:"policy_version"`
	PolicyHash    string              `json:"policy_hash,omitempty"`
	Events        []EventOut          `json:"events" doc:"The ledger events of the choice, one per purpose, with their proof."`
	Recipients    []ReceiptRecipient  `json:"recipients" doc:"Everyone who receives data for the purposes, processors included."`
	Withdrawal    []ReceiptWithdrawal `json:"withdrawal" doc:"How to withdraw each consent."`
	Current       []PurposeState      `json:"current,omitempty" doc:"What counts now for the same purposes (a later choice may have changed it)."`
}

// ReceiptRecipient names a recipient of a purpose.
type ReceiptRecipient struct {
	Purpose     string `json:"purpose"`
	Name        string `json:"name"`
	Role        string `json:"role"`
	Country     string `json:"country"`
	Transfer    string `json:"transfer,omitempty"`
	SaleOrShare bool   `json:"sale_or_share,omitempty"`
}

// ReceiptWithdrawal says how to withdraw one purpose's consent.
type ReceiptWithdrawal struct {
	Purpose string `json:"purpose"`
	How     string `json:"how"`
}

// Receipt returns the receipt of an event (and the events chosen with it).
func (s *Service) Receipt(ctx context.Context, tenantID, receiptID string) (Receipt, error) {
	active, err := s.active(ctx, tenantID)
	if err != nil {
		return Receipt{}, err
	}
	var (
		ev       store.ConsentEvent
		batch    []store.ConsentEvent
		current  []store.ConsentState
		validFor map[string]int
	)
	err = s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		ev, err = tx.GetConsentEvent(tenantID, receiptID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrReceiptNotFound
		}
		if err != nil {
			return err
		}
		var hist []store.ConsentEvent
		if ev.SubjectID != "" {
			if hist, err = tx.ConsentHistory(tenantID, ev.SubjectID); err != nil {
				return err
			}
			if current, err = tx.CurrentConsents(tenantID, ev.SubjectID); err != nil {
				return err
			}
		} else {
			if hist, err = tx.BrowserConsentHistory(tenantID, ev.BrowserID); err != nil {
				return err
			}
			if current, err = tx.CurrentBrowserConsents(tenantID, ev.BrowserID); err != nil {
				return err
			}
		}
		for _, h := range hist {
			if h.At.Equal(ev.At) && h.Method == ev.Method && h.Source == ev.Source && h.Actor == ev.Actor && h.BrowserID == ev.BrowserID {
				batch = append(batch, h)
			}
		}
		validFor, err = tx.ConsentValidSince(tenantID)
		return err
	})
	if err != nil {
		return Receipt{}, err
	}
	// The batch in ledger order (ids are time-ordered), the quoted event's
	// batch starting at the earliest id.
	slices.SortFunc(batch, func(a, b store.ConsentEvent) int { return strings.Compare(a.ID, b.ID) })
	doc, err := s.versionDoc(ctx, active, ev.PolicyVersion)
	if err != nil {
		return Receipt{}, err
	}
	return s.buildReceipt(doc, ev, batch, current, validFor), nil
}

func (s *Service) buildReceipt(doc *policy.Document, ev store.ConsentEvent, batch []store.ConsentEvent,
	current []store.ConsentState, validFor map[string]int) Receipt {
	p := doc.Policy
	lang := p.Language
	if lang == "" {
		lang = "en"
	}
	c := p.Controller
	laws := make([]string, len(p.Jurisdictions))
	for i, j := range p.Jurisdictions {
		laws[i] = strings.ToUpper(strings.ReplaceAll(string(j), "_", " "))
	}
	ctrl := ReceiptController{PIIController: c.Name, OnBehalf: p.Mode == policy.ModeProcessor, Contact: c.Name,
		Address: ReceiptAddress{StreetAddress: c.Address, AddressCountry: c.Country}, Email: c.Email, Phone: c.Phone, PIIControllerURL: c.Website}
	if c.DPO != nil {
		ctrl.Contact = c.DPO.Name
		if c.DPO.Email != "" {
			ctrl.Email = c.DPO.Email
		}
	}
	site := strings.TrimPrefix(ev.Source, "site:")
	if site == ev.Source {
		site = ""
	}
	var st *policy.Site
	if site != "" {
		st = doc.SiteByKey(site)
	}
	r := Receipt{
		Version:          KantaraVersion,
		Jurisdiction:     c.Country + "; " + strings.Join(laws, ", "),
		ConsentTimestamp: ev.At.Unix(),
		CollectionMethod: collectionMethod(ev.Method, st),
		ConsentReceiptID: ev.ID,
		Language:         lang,
		PIIPrincipalID:   ev.SubjectID,
		PIIControllers:   []ReceiptController{ctrl},
		PolicyURL:        c.Website,
		Services:         []ReceiptService{},
		SPICat:           []string{},
	}
	if r.PIIPrincipalID == "" {
		r.PIIPrincipalID = "browser:" + ev.BrowserID
	}
	if st != nil && st.NoticeURL != "" {
		r.PolicyURL = st.NoticeURL
	}
	if len(batch) > 0 {
		r.ConsentReceiptID = batch[0].ID
	}
	d := ReceiptDetails{ReceiptID: r.ConsentReceiptID, SubjectID: ev.SubjectID, BrowserID: ev.BrowserID, Site: site, Method: ev.Method,
		At: ev.At, PolicyVersion: ev.PolicyVersion, PolicyHash: ev.PolicyHash, Recipients: []ReceiptRecipient{}, Withdrawal: []ReceiptWithdrawal{}}
	tax := doc.Taxonomy()
	byPurpose := map[string]store.ConsentState{}
	for _, cs := range current {
		byPurpose[cs.Purpose] = cs
	}
	now := s.now()
	for _, e := range batch {
		d.Events = append(d.Events, eventOut(e))
		svc, rp := e.Purpose, ReceiptPurpose{ConsentType: "EXPLICIT", PIICategory: []string{}}
		pp := doc.PurposeByKey(e.Purpose)
		cur := PurposeState{Purpose: e.Purpose, Status: StatusNotGiven}
		switch {
		case e.Purpose == store.PurposeSaleShare:
			svc = "Sale or sharing of personal information (CCPA)"
			rp.Purpose = "The CCPA choice to opt out of the sale and sharing of personal information."
			rp.PurposeCategory = []string{"Sharing for Marketing"}
			rp.Termination = "Until changed."
			if x, ok := byPurpose[e.Purpose]; ok {
				cur.Status = map[bool]string{true: StatusOptedOut, false: StatusOptedIn}[x.Kind == store.ConsentWithdrawn]
				cur.ReceiptID = x.EventID
			}
		case pp != nil:
			svc = pp.Name
			rp.Purpose = oneLine(pp.Description)
			rp.PurposeCategory = []string{purposeCategory(pp, st, saleOrShare(doc, pp))}
			rp.PIICategory = append(rp.PIICategory, pp.Categories...)
			for _, cat := range pp.Categories {
				if tax.IsSpecial(cat) {
					r.Sensitive = true
					r.SPICat = append(r.SPICat, cat)
				}
			}
			rp.Termination = termination(pp)
			var third []string
			for _, k := range pp.Recipients {
				rec := doc.RecipientByKey(k)
				if rec == nil {
					continue
				}
				d.Recipients = append(d.Recipients, ReceiptRecipient{Purpose: pp.Key, Name: rec.Name, Role: string(rec.Role),
					Country: rec.Country, Transfer: string(rec.Transfer), SaleOrShare: rec.SaleOrShare})
				if rec.Role != policy.RoleProcessor {
					third = append(third, rec.Name)
				}
			}
			rp.ThirdPartyDisclosure, rp.ThirdPartyName = len(third) > 0, strings.Join(third, "; ")
			if pp.Consent != nil {
				d.Withdrawal = append(d.Withdrawal, ReceiptWithdrawal{Purpose: pp.Key, How: oneLine(pp.Consent.Withdrawal)})
			}
			if x, ok := byPurpose[e.Purpose]; ok {
				var exp time.Time
				cur.Status, exp = status(doc.PurposeByKey(e.Purpose), x, validFor[e.Purpose], now)
				cur.ReceiptID, cur.ExpiresAt = x.EventID, timePtr(exp)
			}
		default:
			rp.Purpose = "A purpose no longer in the policy."
			rp.PurposeCategory = []string{"Core Function"}
		}
		cur.Name = svc
		d.Current = append(d.Current, cur)
		r.Services = append(r.Services, ReceiptService{Service: svc, Purposes: []ReceiptPurpose{rp}})
	}
	r.Trustee = d
	return r
}

// purposeCategory maps a purpose onto the Kantara purpose categories.
func purposeCategory(p *policy.Purpose, site *policy.Site, sale bool) string {
	if site != nil {
		switch site.CategoryOf(p.Key) {
		case policy.CookieAnalytics:
			return "Improve Performance"
		case policy.CookieFunctional:
			return "Personalized Experience"
		case policy.CookieAdvertising:
			return "Marketing Third Parties"
		}
	}
	switch {
	case sale:
		return "Sharing for Marketing"
	case p.DirectMarketing:
		return "Marketing"
	}
	return "Core Function"
}

func termination(p *policy.Purpose) string {
	var parts []string
	if p.Consent != nil && !p.Consent.Lifetime.IsZero() {
		parts = append(parts, fmt.Sprintf("Ends %s after it was given, unless renewed.", p.Consent.Lifetime))
	} else {
		parts = append(parts, "Lasts until withdrawn.")
	}
	if p.Consent != nil && p.Consent.Withdrawal != "" {
		parts = append(parts, "To withdraw: "+oneLine(p.Consent.Withdrawal))
	}
	return strings.Join(parts, " ")
}

func collectionMethod(method string, site *policy.Site) string {
	switch method {
	case store.MethodBanner:
		if site != nil {
			return "Cookie banner on " + site.Name + " (" + site.Key + ")"
		}
		return "Cookie banner"
	case store.MethodGPC:
		return "Global Privacy Control signal sent by the browser"
	case store.MethodCheckbox:
		return "Check box in the application"
	case store.MethodEmail:
		return "By email"
	case store.MethodPhone:
		return "By telephone, recorded by staff"
	case store.MethodPaper:
		return "Signed paper form"
	case store.MethodOnBehalf:
		return "Given on the person's behalf by someone who confirmed they had the person's consent"
	case store.MethodUnsubscribe:
		return "Unsubscribe link in an email"
	case store.MethodSystem:
		return "Recorded by Trustee"
	}
	return "Through the application"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// versionDocs caches parsed policy versions for receipts and banner
// choices made under an older version: versions are immutable, so an
// entry never goes stale. It is bounded; past the bound it starts over.
type versionDocs struct {
	mu sync.Mutex
	m  map[string]*policy.Document
}

const maxVersionDocs = 64

var docCache versionDocs

// versionDoc returns the policy of a version, the active one if v is 0,
// unknown, or the active version.
func (s *Service) versionDoc(ctx context.Context, a *tenant.Active, v int) (*policy.Document, error) {
	if v <= 0 || v == a.Version.Version {
		return a.Doc, nil
	}
	key := fmt.Sprintf("%s/%d", a.Tenant.ID, v)
	docCache.mu.Lock()
	d := docCache.m[key]
	docCache.mu.Unlock()
	if d != nil {
		return d, nil
	}
	_, d, err := s.Tenants.Version(ctx, a.Tenant.ID, v)
	if errors.Is(err, tenant.ErrVersionNotFound) {
		return a.Doc, nil
	}
	if err != nil {
		return nil, err
	}
	docCache.mu.Lock()
	if docCache.m == nil || len(docCache.m) >= maxVersionDocs {
		docCache.m = map[string]*policy.Document{}
	}
	docCache.m[key] = d
	docCache.mu.Unlock()
	return d, nil
}
