package store

// AuditTx stores the hash-chained audit log. (Filled in by the audit work.)
type AuditTx interface{}
