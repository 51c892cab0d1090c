package decide_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/trustee-privacy/trustee/internal/decide"
	"github.com/trustee-privacy/trustee/internal/store"
)

// This file checks the engine against an independent model of the rules.
// The model works on abstract scenario values ("a hold for this purpose",
// "an upheld objection to all legitimate interests") and hand-written facts
// about the test policy (which purpose uses which item), not on taxonomy
// lookups and control records, so a mistake in the engine's matching code
// shows up as a disagreement. Every combination of the dimensions below is
// enumerated (a deterministic sample under -short and -race).

// tPurpose is what the model knows about a purpose of testdata/policy.yaml,
// written down by hand.
type tPurpose struct {
	key      string
	basis    string // contract, legal_obligation, vital, li, public_task, consent
	dm, sale bool
	lifetime bool // has a consent lifetime (newsletter: 24 months)
	uses     []int
}

// tItem indexes.
const (
	iEmail = iota
	iOrders
	iHealth
	iViews
	iCookie
	nItems
)

var tItems = [nItems]decide.Item{
	iEmail:  itEmail,
	iOrders: record(itOrders, "0190record"),
	iHealth: itHealth,
	iViews:  record(itViews, "0190view"),
	iCookie: itCookie,
}

var tItemIsRecord = [nItems]bool{iOrders: true, iViews: true}
var tItemKeptByLaw = [nItems]bool{iOrders: true}

var tPurposes = []tPurpose{
	{key: "service", basis: "contract", uses: []int{iEmail, iOrders}},
	{key: "bookkeeping", basis: "legal_obligation", uses: []int{iOrders}},
	{key: "safety", basis: "vital", uses: []int{iEmail, iHealth}},
	{key: "fraud", basis: "li", uses: []int{iOrders}},
	{key: "li_marketing", basis: "li", dm: true, uses: []int{iEmail}},
	{key: "li_sale", basis: "li", sale: true, uses: []int{iEmail}},
	{key: "statistics", basis: "public_task", uses: []int{iOrders, iViews}},
	{key: "newsletter", basis: "consent", dm: true, lifetime: true, uses: []int{iEmail}},
	{key: "advertising", basis: "consent", dm: true, sale: true, uses: []int{iViews, iCookie}},
	{key: "recommendations", basis: "consent", uses: []int{iOrders, iViews}},
	{key: "coaching", basis: "consent", uses: []int{iHealth}},
	{key: "care", basis: "contract", uses: []int{iHealth}},
}

// Scenario dimensions.
const (
	stActive = iota
	stErased
	stRestricted
	nStates
)

const (
	ageAdult = iota
	ageMinor
	ageMinorConsented
	nAges
)

const (
	resNone = iota
	resAll
	resItem    // the item's own category
	resOther   // a category no item has
	resAllowed // everything, with this purpose as an exception
	resLifted  // everything, but lifted
	resParent  // a parent of the item's category ("user")
	nRestrictions
)

const (
	objNone            = iota
	objDMAll           // direct marketing, every purpose, upheld
	objNamedPending    // legitimate_interest naming this purpose, pending
	objNamedUpheld     // legitimate_interest naming this purpose, upheld
	objLIAllPending    // every legitimate-interests purpose, pending
	objPTAllUpheld     // every public-task purpose, upheld
	objNamedOverridden // naming this purpose, overridden
	objOtherPurpose    // naming another purpose, upheld
	nObjections
)

const (
	conNone = iota
	conGiven
	conGivenExpired // its expires_at has passed
	conOldVersion   // given under a version before ConsentValidSince
	conWithdrawn
	conExpiredEvent
	conOld30Months // given 30 months ago without expires_at
	nConsents
)

const (
	holdNone     = iota
	holdThis     // by the item's category, for this purpose
	holdOther    // by the item's category, for another purpose
	holdPreserve // everything, no purpose
	holdCollThis // by collection name (the item's, if a record), for this purpose
	holdReleased // for this purpose, released
	holdEnded    // for this purpose, until <= now
	holdWideThis // tenant-wide, everything, for this purpose
	nHolds
)

const (
	expNone = iota
	expPast
	expFuture
	nExpiries
)

const (
	optNone = iota
	optFlag
	optLedger
	optLedgerIn // the ledger says opted in again
	nOptOuts
)

// validSinceOf holds, per purpose, the ConsentValidSince of its snapshots.
var validSinceOf = func() []map[string]int {
	out := make([]map[string]int, len(tPurposes))
	for i, p := range tPurposes {
		out[i] = map[string]int{p.key: 3, "other": 9}
	}
	return out
}()

type scenario struct {
	purpose, item                             int
	state, age, res, obj, con, hold, exp, opt int
}

func (c scenario) String() string {
	return fmt.Sprintf("purpose=%s item=%d state=%d age=%d res=%d obj=%d con=%d hold=%d exp=%d opt=%d",
		tPurposes[c.purpose].key, c.item, c.state, c.age, c.res, c.obj, c.con, c.hold, c.exp, c.opt)
}

// model is the independent statement of the rules: it returns the reason
// and detail the engine must give ("" for allowed).
func model(c scenario) (decide.Reason, string) {
	p := tPurposes[c.purpose]
	if !usesItem(c.purpose, c.item) {
		return decide.NotInPurpose, decide.DetailNotInPurpose
	}
	isRecord := tItemIsRecord[c.item]
	heldForMe := c.hold == holdThis || c.hold == holdWideThis || (c.hold == holdCollThis && isRecord)
	heldAny := heldForMe || c.hold == holdOther || c.hold == holdPreserve

	if c.state == stErased {
		keptByLaw := tItemKeptByLaw[c.item]
		switch {
		case heldForMe || (keptByLaw && p.basis == "legal_obligation"):
		case heldAny:
			return decide.LegalHoldOnly, decide.DetailErasedHeld
		case keptByLaw:
			return decide.LegalHoldOnly, decide.DetailErasedKeptByLaw
		default:
			return decide.SubjectErased, decide.DetailErased
		}
	}
	if c.exp == expPast {
		switch {
		case heldForMe:
		case heldAny:
			return decide.LegalHoldOnly, decide.DetailExpiredHeld
		default:
			return decide.RetentionExpired, decide.DetailExpired
		}
	}
	if c.age == ageMinor && p.basis != "legal_obligation" && p.basis != "vital" {
		return decide.UnderMinimumAge, decide.DetailUnderAge
	}
	if c.state == stRestricted {
		return decide.Restricted, decide.DetailSubjectRestricted
	}
	if c.res == resAll || c.res == resItem || c.res == resParent {
		return decide.Restricted, decide.DetailRestricted
	}
	objectable := p.dm || p.basis == "li" || p.basis == "public_task"
	var objected bool
	pending := false
	switch c.obj {
	case objDMAll:
		objected = p.dm
	case objNamedPending:
		objected, pending = objectable, true
	case objNamedUpheld:
		objected = objectable
	case objLIAllPending:
		objected, pending = p.basis == "li", true
	case objPTAllUpheld:
		objected = p.basis == "public_task"
	}
	if objected {
		switch {
		case p.dm:
			return decide.Objected, decide.DetailObjectedMarketing
		case pending:
			return decide.Objected, decide.DetailObjectedPending
		default:
			return decide.Objected, decide.DetailObjectedUpheld
		}
	}
	if p.sale && (c.opt == optFlag || c.opt == optLedger) {
		return decide.OptedOut, decide.DetailOptedOut
	}
	if p.basis == "consent" {
		switch c.con {
		case conNone:
			return decide.ConsentMissing, decide.DetailConsentNever
		case conGivenExpired, conExpiredEvent:
			return decide.ConsentMissing, decide.DetailConsentExpired
		case conOld30Months:
			if p.lifetime {
				return decide.ConsentMissing, decide.DetailConsentExpired
			}
		case conOldVersion:
			return decide.ConsentMissing, decide.DetailConsentRenewal
		case conWithdrawn:
			return decide.ConsentWithdrawn, decide.DetailConsentWithdrawn
		}
	}
	return "", ""
}

func usesItem(purpose, item int) bool {
	for _, i := range tPurposes[purpose].uses {
		if i == item {
			return true
		}
	}
	return false
}

// build turns a scenario into the snapshot the engine sees.
func build(c scenario) (*decide.Subject, decide.Item) {
	p := tPurposes[c.purpose]
	it := tItems[c.item]
	s := &decide.Subject{State: []string{store.SubjectActive, store.SubjectErased, decide.SubjectRestricted}[c.state],
		AgeStatus: []string{"", decide.AgeMinor, decide.AgeMinorConsented}[c.age],
		// Every purpose's older consents need version 3 or later.
		ConsentValidSince: validSinceOf[c.purpose]}
	ctl := &s.Controls
	switch c.res {
	case resAll:
		ctl.Restrictions = []store.Restriction{{ID: "r", Ground: store.GroundUnlawfulProcessing}}
	case resItem:
		ctl.Restrictions = []store.Restriction{{ID: "r", Categories: []string{it.Category}}}
	case resOther:
		ctl.Restrictions = []store.Restriction{{ID: "r", Categories: []string{"user.financial", "user.location"}}}
	case resAllowed:
		ctl.Restrictions = []store.Restriction{{ID: "r", AllowedPurposes: []string{"x", p.key}}}
	case resLifted:
		ctl.Restrictions = []store.Restriction{{ID: "r", LiftedAt: now.Add(-time.Hour)}}
	case resParent:
		ctl.Restrictions = []store.Restriction{{ID: "r", Categories: []string{"user.financial", "user"}}}
	}
	obj := func(purpose, kind, status string) {
		ctl.Objections = []store.Objection{{ID: "o", Purpose: purpose, Kind: kind, Status: status}}
	}
	switch c.obj {
	case objDMAll:
		obj("", store.ObjectDirectMarketing, store.ObjectionUpheld)
	case objNamedPending:
		obj(p.key, store.ObjectLegitimateInterest, store.ObjectionPending)
	case objNamedUpheld:
		obj(p.key, store.ObjectLegitimateInterest, store.ObjectionUpheld)
	case objLIAllPending:
		obj("", store.ObjectLegitimateInterest, store.ObjectionPending)
	case objPTAllUpheld:
		obj("", store.ObjectPublicTask, store.ObjectionUpheld)
	case objNamedOverridden:
		obj(p.key, store.ObjectLegitimateInterest, store.ObjectionOverridden)
	case objOtherPurpose:
		obj("some_other_purpose", store.ObjectDirectMarketing, store.ObjectionUpheld)
	}
	cs := store.ConsentState{Purpose: p.key, EventID: "e", Kind: store.ConsentGiven, At: now.AddDate(0, -1, 0), PolicyVersion: 5}
	switch c.con {
	case conGiven:
		cs.ExpiresAt = now.AddDate(1, 0, 0)
	case conGivenExpired:
		cs.ExpiresAt = now.Add(-time.Second)
	case conOldVersion:
		cs.PolicyVersion = 2
	case conWithdrawn:
		cs.Kind = store.ConsentWithdrawn
	case conExpiredEvent:
		cs.Kind = store.ConsentExpired
	case conOld30Months:
		cs.At = now.AddDate(0, -30, 0)
	}
	// A state for another purpose is always there, to be ignored.
	ctl.Consents = []store.ConsentState{{Purpose: "zz_other", Kind: store.ConsentWithdrawn}}
	if c.con != conNone {
		ctl.Consents = append(ctl.Consents, cs)
	}
	switch c.opt {
	case optFlag:
		s.OptedOutSaleShare = true
	case optLedger:
		ctl.Consents = append(ctl.Consents, store.ConsentState{Purpose: store.PurposeSaleShare, Kind: store.ConsentWithdrawn, EventID: "gpc"})
	case optLedgerIn:
		ctl.Consents = append(ctl.Consents, store.ConsentState{Purpose: store.PurposeSaleShare, Kind: store.ConsentGiven})
	}
	h := store.LegalHold{ID: "h", Purpose: p.key, Categories: []string{it.Category}, SubjectID: "s"}
	switch c.hold {
	case holdThis:
	case holdOther:
		h.Purpose = "another_purpose"
	case holdPreserve:
		h.Purpose, h.Categories = "", nil
	case holdCollThis:
		h.Categories = nil
		h.Collections = []string{"orders"}
		if tItemIsRecord[c.item] {
			h.Collections = []string{"x", it.Collection}
		}
	case holdReleased:
		h.ReleasedAt = now.Add(-time.Hour)
	case holdEnded:
		h.Until = now
	case holdWideThis:
		h.SubjectID, h.Categories = "", nil
	}
	if c.hold != holdNone {
		ctl.Holds = []store.LegalHold{h}
	}
	switch c.exp {
	case expPast:
		it.ExpiresAt = now.Add(-time.Minute)
	case expFuture:
		it.ExpiresAt = now.Add(time.Minute)
	}
	return s, it
}

func check(t testing.TB, c scenario) bool {
	s, it := build(c)
	got, err := decide.DecideItem(doc, tPurposes[c.purpose].key, s, it, now)
	if err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	wantR, wantD := model(c)
	if got.Reason != wantR || got.Detail != wantD || got.Allowed != (wantR == "") {
		t.Errorf("%v:\n  engine %q (%s)\n  model  %q (%s)", c, got.Reason, got.Detail, wantR, wantD)
		return false
	}
	return true
}

// TestAgainstModel enumerates every combination of the dimensions, except
// two redundancies it samples instead: items a purpose does not use (rule 1
// comes first, so the rest cannot matter) and the opt-out dimension for
// purposes that are not a sale or sharing.
func TestAgainstModel(t *testing.T) {
	stride := 1
	if testing.Short() || raceEnabled {
		stride = 97 // a prime, so the sample walks through every dimension
	}
	const sampleUnused = 31
	var n, fails, denied int
	reasons := map[decide.Reason]int{}
	k := 0
	for p := range tPurposes {
		for item := range nItems {
			for state := range nStates {
				for age := range nAges {
					for res := range nRestrictions {
						for obj := range nObjections {
							for con := range nConsents {
								for hold := range nHolds {
									for exp := range nExpiries {
										for opt := range nOptOuts {
											k++
											c := scenario{p, item, state, age, res, obj, con, hold, exp, opt}
											every := stride
											if !usesItem(p, item) {
												every *= sampleUnused
											} else if !tPurposes[p].sale && (opt == optFlag || opt == optLedgerIn) {
												every *= sampleUnused
											}
											if k%every != 0 {
												continue
											}
											n++
											if !check(t, c) {
												fails++
												if fails > 20 {
													t.Fatal("too many disagreements")
												}
											}
											r, _ := model(c)
											reasons[r]++
											if r != "" {
												denied++
											}
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d combinations, %d denied; by reason: %v", n, denied, reasons)
	// Every reason but the validator-guarded one must be reachable, or a
	// dimension has stopped exercising a rule.
	for _, r := range decide.Reasons {
		if r != decide.NoSpecialCondition && reasons[r] == 0 {
			t.Errorf("no combination produced %q", r)
		}
	}
	if reasons[""] == 0 {
		t.Error("no combination was allowed")
	}
}

// FuzzAgainstModel lets the fuzzer pick scenarios: go test -fuzz FuzzAgainstModel.
func FuzzAgainstModel(f *testing.F) {
	f.Add([]byte{7, 0, 1, 0, 2, 3, 1, 1, 1, 1})
	f.Add([]byte{3, 1, 0, 1, 0, 4, 4, 4, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		pick := func(i, n int) int {
			if i < len(b) {
				return int(b[i]) % n
			}
			return 0
		}
		c := scenario{pick(0, len(tPurposes)), pick(1, nItems), pick(2, nStates), pick(3, nAges), pick(4, nRestrictions),
			pick(5, nObjections), pick(6, nConsents), pick(7, nHolds), pick(8, nExpiries), pick(9, nOptOuts)}
		check(t, c)
	})
}
