package store

// SealCheckAs seals the key-check value of the key that id names in r, bound
// to id itself: what an older version stored for a key it knew by a label.
func SealCheckAs(r *KeyRing, id string) []byte {
	aead := r.keys[r.resolve(id)]
	nonce := make([]byte, aead.NonceSize())
	return aead.Seal(nonce, nonce, []byte(keyCheckPlain), keyCheckData(id))
}

// PGQuery is pgQuery.
func PGQuery(query string) string { return pgQuery(query) }
