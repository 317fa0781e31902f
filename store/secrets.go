package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeyRing holds the AES-256 keys that seal credentials. The primary key seals;
// any key in the ring opens what it sealed.
type KeyRing struct {
	primary string
	keys    map[string]cipher.AEAD
	order   []string
	// macKey signs opaque tokens the server hands out (page tokens); it is
	// derived from the primary key, never the key itself.
	macKey []byte
}

// ParseKeyRing parses JUNCTION_ENCRYPTION_KEYS ("id:base64,id:base64", the
// first one seals) or, when that is empty, JUNCTION_ENCRYPTION_KEY (one base64
// key whose id is derived from its hash). Keys must decode to 32 bytes.
func ParseKeyRing(keys, key string) (*KeyRing, error) {
	r := &KeyRing{keys: map[string]cipher.AEAD{}}
	if strings.TrimSpace(keys) != "" {
		for i, part := range strings.Split(keys, ",") {
			id, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
			if !ok || id == "" {
				return nil, fmt.Errorf("JUNCTION_ENCRYPTION_KEYS entry %d: want id:base64key", i+1)
			}
			if err := r.add(id, b64); err != nil {
				return nil, fmt.Errorf("JUNCTION_ENCRYPTION_KEYS entry %q: %w", id, err)
			}
		}
		return r, nil
	}
	if strings.TrimSpace(key) != "" {
		raw, err := decodeKey(key)
		if err != nil {
			return nil, fmt.Errorf("JUNCTION_ENCRYPTION_KEY: %w", err)
		}
		return r, r.addRaw(DerivedKeyID(raw), raw)
	}
	return nil, errors.New("no encryption key configured")
}

// LoadOrCreateKeyFile reads the key in path, creating it (mode 0600) with a
// fresh random key when it does not exist. created reports a new file.
func LoadOrCreateKeyFile(path string) (r *KeyRing, created bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return nil, false, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, err
		}
		enc := base64.StdEncoding.EncodeToString(raw) + "\n"
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, err
		}
		if _, err := f.WriteString(enc); err != nil {
			f.Close()
			return nil, false, err
		}
		if err := f.Close(); err != nil {
			return nil, false, err
		}
		r, err := ParseKeyRing("", enc)
		return r, true, err
	}
	if err != nil {
		return nil, false, err
	}
	r, err = ParseKeyRing("", string(b))
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	return r, false, nil
}

// DerivedKeyID names a key by its hash, so a different key is noticed by id.
func DerivedKeyID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return "key-" + hex.EncodeToString(sum[:4])
}

func decodeKey(b64 string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, errors.New("not valid base64")
	}
	if len(raw) != 32 {
		return nil, fmt.Errorf("decodes to %d bytes, want 32 (generate one with: openssl rand -base64 32)", len(raw))
	}
	return raw, nil
}

func (r *KeyRing) add(id, b64 string) error {
	raw, err := decodeKey(b64)
	if err != nil {
		return err
	}
	return r.addRaw(id, raw)
}

func (r *KeyRing) addRaw(id string, raw []byte) error {
	if _, dup := r.keys[id]; dup {
		return fmt.Errorf("key id %q given twice", id)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	if r.primary == "" {
		r.primary = id
		m := hmac.New(sha256.New, raw)
		m.Write([]byte("junction/token-mac/v1"))
		r.macKey = m.Sum(nil)
	}
	r.keys[id] = aead
	r.order = append(r.order, id)
	return nil
}

// MAC returns an HMAC-SHA256 of the parts (length-prefixed, so parts cannot
// be shifted between each other) under a key derived from the primary key.
// Tokens it signs stop verifying after a key rotation.
func (r *KeyRing) MAC(parts ...string) []byte {
	m := hmac.New(sha256.New, r.macKey)
	for _, p := range parts {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		m.Write(n[:])
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// Primary returns the id of the key that seals.
func (r *KeyRing) Primary() string { return r.primary }

// Has reports whether the ring holds key id.
func (r *KeyRing) Has(id string) bool { _, ok := r.keys[id]; return ok }

// IDs returns the key ids, primary first.
func (r *KeyRing) IDs() []string { return append([]string(nil), r.order...) }

func additionalData(tenantID, connectionID string) []byte {
	return []byte("junction/credentials/v1\x00" + tenantID + "\x00" + connectionID)
}

// Seal encrypts secrets for one connection under the primary key. The tenant
// and connection ids are bound as additional data, so the blob opens only in
// its own row. An empty map seals to nil.
func (r *KeyRing) Seal(tenantID, connectionID string, secrets map[string]string) (blob []byte, keyID string, err error) {
	if len(secrets) == 0 {
		return nil, "", nil
	}
	plain, err := json.Marshal(secrets)
	if err != nil {
		return nil, "", err
	}
	aead := r.keys[r.primary]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, "", err
	}
	return aead.Seal(nonce, nonce, plain, additionalData(tenantID, connectionID)), r.primary, nil
}

// ErrUnreadable: one connection's sealed credentials do not open: a damaged,
// truncated, swapped or empty blob, a key id the ring does not hold, or
// secret names that do not match what the blob holds. It concerns that
// connection alone (the key itself is proven by CheckKeys); its secrets must
// be entered again.
var ErrUnreadable = errors.New("stored credentials cannot be opened; enter them again")

// Open decrypts a blob sealed by Seal. It fails closed with ErrUnreadable:
// any tampering, a blob moved to another row, an unknown key, and a blob
// that is empty while a key id says something was sealed (or the reverse).
// Only no blob and no key id is "no secrets".
func (r *KeyRing) Open(tenantID, connectionID, keyID string, blob []byte) (map[string]string, error) {
	switch {
	case len(blob) == 0 && keyID == "":
		return map[string]string{}, nil
	case len(blob) == 0:
		return nil, fmt.Errorf("sealed credentials are empty but name key %q: %w", keyID, ErrUnreadable)
	case keyID == "":
		return nil, fmt.Errorf("sealed credentials name no key: %w", ErrUnreadable)
	}
	aead, ok := r.keys[keyID]
	if !ok {
		return nil, fmt.Errorf("key id %q is not in the key ring: %w", keyID, ErrUnreadable)
	}
	if len(blob) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("sealed credentials are truncated: %w", ErrUnreadable)
	}
	plain, err := aead.Open(nil, blob[:aead.NonceSize()], blob[aead.NonceSize():], additionalData(tenantID, connectionID))
	if err != nil {
		return nil, fmt.Errorf("sealed credentials do not open with key %q: %w", keyID, ErrUnreadable)
	}
	out := map[string]string{}
	if err := json.Unmarshal(plain, &out); err != nil {
		return nil, fmt.Errorf("sealed credentials are malformed: %w", ErrUnreadable)
	}
	return out, nil
}

// keyCheckPlain is what a key-check row seals: its opening proves the key.
const keyCheckPlain = "junction key check"

func keyCheckData(keyID string) []byte {
	return []byte("junction/key-check/v1\x00" + keyID)
}

// sealCheck seals the key-check value of key id (which must be in the ring).
func (r *KeyRing) sealCheck(id string) ([]byte, error) {
	aead := r.keys[id]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, []byte(keyCheckPlain), keyCheckData(id)), nil
}

// openCheck reports whether blob is key id's key-check value sealed with the
// key the ring holds under that id.
func (r *KeyRing) openCheck(id string, blob []byte) bool {
	aead, ok := r.keys[id]
	if !ok || len(blob) < aead.NonceSize()+aead.Overhead() {
		return false
	}
	plain, err := aead.Open(nil, blob[:aead.NonceSize()], blob[aead.NonceSize():], keyCheckData(id))
	return err == nil && string(plain) == keyCheckPlain
}
