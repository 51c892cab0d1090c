package store

import "time"

// TokensTx remembers single-use bearer tokens that have been spent.
type TokensTx interface {
	// UseToken records that the token with this hash (e.g. SHA-256 of the
	// token) was used, keeping the record until expiresAt, and reports
	// whether this was its first use. Records of the tenant's tokens that
	// expired before now are forgotten on the way. ErrInvalid for an
	// empty hash or a zero time.
	UseToken(tenantID string, hash []byte, expiresAt, now time.Time) (first bool, err error)
}
