package keys

import (
	"hash/maphash"
	"sync"
	"time"
)

// keyCache keeps unwrapped subject keys, bounded in number, least recently
// used first out. Unwrapping needs a key-store read; a hit needs one map
// lookup under one of many shard locks, so reads from many goroutines rarely
// wait for each other.
//
// An entry may also be a tombstone: the subject was shredded through this
// Manager. Shredding is permanent, so a tombstone answers ErrShredded at once
// and, because loads only ever add (never overwrite), a load that raced with
// the shred cannot put the destroyed key back.
//
// Entries expire after ttl, so a key destroyed by another instance stops
// being served here within ttl.
type keyCache struct {
	seed   maphash.Seed
	shards []cacheShard
	mask   uint64
	ttl    time.Duration
}

type cacheKey struct{ tenant, subject string }

type cacheEntry struct {
	key        cacheKey
	dk         *DataKey // nil: tombstone
	expires    int64    // Manager.mono() nanoseconds; 0: never (tombstones)
	prev, next *cacheEntry
}

type cacheShard struct {
	mu   sync.Mutex
	m    map[cacheKey]*cacheEntry
	head cacheEntry // sentinel: head.next is the most recently used
	max  int
	_    [40]byte // keep shards on separate cache lines
}

// newKeyCache holds up to size entries (at least one per shard); size <= 0
// disables the cache.
func newKeyCache(size int, ttl time.Duration) *keyCache {
	if size <= 0 {
		return nil
	}
	n := 1
	for n < 64 && n*256 < size {
		n *= 2
	}
	c := &keyCache{seed: maphash.MakeSeed(), shards: make([]cacheShard, n), mask: uint64(n - 1), ttl: ttl}
	per := (size + n - 1) / n
	for i := range c.shards {
		s := &c.shards[i]
		s.m = make(map[cacheKey]*cacheEntry)
		s.head.next, s.head.prev = &s.head, &s.head
		s.max = per
	}
	return c
}

func (c *keyCache) shard(k cacheKey) *cacheShard {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(k.tenant)
	h.WriteByte(0)
	h.WriteString(k.subject)
	return &c.shards[h.Sum64()&c.mask]
}

func (s *cacheShard) unlink(e *cacheEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
}

func (s *cacheShard) pushFront(e *cacheEntry) {
	e.prev, e.next = &s.head, s.head.next
	s.head.next.prev = e
	s.head.next = e
}

// get returns the cached key, or tomb=true for a shredded subject, or
// ok=false on a miss (absent or expired).
func (c *keyCache) get(k cacheKey, now int64) (dk *DataKey, tomb, ok bool) {
	if c == nil {
		return nil, false, false
	}
	s := c.shard(k)
	s.mu.Lock()
	e := s.m[k]
	if e == nil {
		s.mu.Unlock()
		return nil, false, false
	}
	if e.expires != 0 && now >= e.expires {
		s.unlink(e)
		delete(s.m, k)
		s.mu.Unlock()
		return nil, false, false
	}
	if s.head.next != e {
		s.unlink(e)
		s.pushFront(e)
	}
	dk = e.dk
	s.mu.Unlock()
	return dk, dk == nil, true
}

// add caches dk unless the shard already holds a live entry for k (a key
// loaded concurrently, or a tombstone, which must win).
func (c *keyCache) add(k cacheKey, dk *DataKey, now int64) {
	if c == nil {
		return
	}
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.m[k]; e != nil {
		if e.expires == 0 || now < e.expires {
			return
		}
		s.unlink(e)
		delete(s.m, k)
	}
	var exp int64
	if c.ttl > 0 {
		exp = now + int64(c.ttl)
	} else {
		exp = 1<<63 - 1
	}
	s.insert(&cacheEntry{key: k, dk: dk, expires: exp})
}

// tomb records that k was shredded, replacing any cached key.
func (c *keyCache) tomb(k cacheKey) {
	if c == nil {
		return
	}
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.m[k]; e != nil {
		e.dk, e.expires = nil, 0
		return
	}
	s.insert(&cacheEntry{key: k})
}

// insert adds e as most recently used, evicting the least recently used
// entry when the shard is full. Called with s.mu held.
func (s *cacheShard) insert(e *cacheEntry) {
	if len(s.m) >= s.max {
		old := s.head.prev
		s.unlink(old)
		delete(s.m, old.key)
	}
	s.m[e.key] = e
	s.pushFront(e)
}

// len counts entries, for tests.
func (c *keyCache) len() int {
	if c == nil {
		return 0
	}
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
