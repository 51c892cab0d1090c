package store

// ControlsTx stores what limits the use of a subject's data beyond the
// policy: restrictions, objections, legal holds, and the consent ledger the
// decision engine reads. (Filled in by the decision-engine work.)
type ControlsTx interface{}
