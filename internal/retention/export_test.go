package retention

// SetAfterBatch lets tests stop (or kill) a sweep between batches, or
// inside a batch's transaction.
func SetAfterBatch(s *Service, fn func(stage string, n int)) { s.afterBatch = fn }

// Signature is the rule signature the stored due times of doc's tenant
// follow, for benchmarks that seed rows with their due times already set.
var Signature = signatureText
