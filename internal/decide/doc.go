// Package decide is Trustee's decision engine: may this purpose use this
// data of this subject, now?
//
// It is a pure function of a snapshot — the policy document, one subject's
// state and controls (restrictions, objections, legal holds, consent states),
// the items asked about and the time — with no I/O, no clock and no
// allocation on the hot path, so the vault can call it on every read, it can
// be cached, and it can be tested exhaustively. The vault's reads, the
// decisions endpoint and the audience queries all use this one engine, so a
// field is never released by one path and withheld by another.
//
// # Rules
//
// The engine checks the rules below in this order and the first that denies
// decides; an item that passes every rule is allowed. The order matters only
// for which reason is reported when several rules deny, except where a rule
// says it exempts (rules 3 and 4). docs/decisions.md has the same table with
// the reasoning, for a DPO to check.
//
//	#  reason                          denies when
//	1  not_in_purpose                  no category of the purpose covers the item's category
//	                                   (a category covers its dotted and declared sub-categories)
//	2  no_special_category_condition   the category is special (Art. 9) and the purpose names no
//	                                   special_category_condition (the validator already refuses this)
//	3  subject_erased                  the subject is erased and the item is not kept; kept means an
//	   legal_hold_only                 active legal hold covers it (by category, by collection, or a
//	                                   hold of everything) or its retention rule is kept_by_law. Kept
//	                                   data is usable only for a matching hold's purpose, or, if kept
//	                                   by law, for purposes based on legal_obligation; otherwise
//	                                   legal_hold_only. Usable kept data goes on to rule 4.
//	4  retention_expired               ExpiresAt <= now and no active hold covers the item; if one
//	   legal_hold_only                 does, only its purpose may go on to rule 5 (legal_hold_only)
//	5  under_minimum_age               age status "minor" (no parental consent) and the purpose's basis
//	                                   is neither legal_obligation nor vital_interests
//	6  restricted                      an active restriction touches the category (empty categories:
//	                                   everything) and the purpose is not in its allowed purposes;
//	                                   or the subject state is "restricted"
//	7  objected                        a direct-marketing purpose, and an upheld or pending objection
//	                                   reaches it (one naming the purpose, or a direct-marketing one
//	                                   naming none): unconditionally, Art. 21(3); or a
//	                                   legitimate_interests / public_task purpose, and an upheld or
//	                                   pending objection naming it, or naming none and of the kind
//	                                   matching its basis ("pending assessment" in the detail)
//	8  opted_out                       a sale_or_share purpose and a CCPA opt-out (the snapshot flag,
//	                                   or the ledger's ccpa.sale_share state is withdrawn)
//	9  consent_withdrawn               a consent-based purpose (or explicit_consent for special data)
//	   consent_missing                 whose latest consent event is a withdrawal; or there is none,
//	                                   it expired (event, its expires_at, or the purpose's current
//	                                   lifetime counted from when it was given, whichever is first),
//	                                   or it was given under a policy version older than the
//	                                   purpose's ConsentValidSince (renewal after a widening change)
//
// Deliberate choices, each explained in docs/decisions.md: a restriction is
// not lifted for legal-obligation purposes automatically (Art. 18(2) does not
// list them; the DPO adds such purposes to the restriction's exceptions);
// vital interests are exempt from the minimum-age rule along with legal
// obligations; a control that denies applies when it touches any part of the
// category asked about, while one that exempts (a hold) must cover it all.
//
// Reasons and details are stable and free of personal data; Ref names the
// control that denied (a restriction, objection, hold or consent event id).
package decide
