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
	"sort"
	"strings"
	"sync"
)

// KeyRing holds the AES-256 keys that seal credentials. The primary key seals;
// any key in the ring opens what it sealed.
//
// A key is known by what it is, not by how it was configured: its id is
// derived from the key material (DerivedKeyID, "key-" and the first 8 hex
// digits of its SHA-256), and that id is stored beside every blob it seals.
// A label given in JUNCTION_ENCRYPTION_KEYS ("label:base64") is only a name:
// it maps to the key's id, so rows an older version sealed under the label
// still open, and the same key configured alone (JUNCTION_ENCRYPTION_KEY) or
// under another label is the same key. Store.CheckKeys also recognises a
// key-check row stored under an id no label names, by opening it with each
// key of the ring.
type KeyRing struct {
	primary string
	keys    map[string]cipher.AEAD // by derived id
	raw     map[string][]byte      // by derived id, for key files
	order   []string

	mu sync.RWMutex
	// labels maps a configured label, or a stored key id recognised by
	// CheckKeys, to the derived id of its key.
	labels map[string]string
	// macKey signs opaque tokens the server hands out (page tokens); it is
	// derived from the primary key, never the key itself.
	macKey []byte
}

func newKeyRing() *KeyRing {
	return &KeyRing{keys: map[string]cipher.AEAD{}, raw: map[string][]byte{}, labels: map[string]string{}}
}

// ParseKeyRing parses JUNCTION_ENCRYPTION_KEYS ("base64,base64" or with
// optional labels "label:base64,label:base64"; the first key seals) or, when
// that is empty, JUNCTION_ENCRYPTION_KEY (one base64 key). Keys must decode
// to 32 bytes; every key's id is derived from it (see KeyRing).
func ParseKeyRing(keys, key string) (*KeyRing, error) {
	r := newKeyRing()
	if strings.TrimSpace(keys) != "" {
		for i, part := range strings.Split(keys, ",") {
			part = strings.TrimSpace(part)
			label, b64, ok := strings.Cut(part, ":")
			if !ok {
				label, b64 = "", part
			}
			name := fmt.Sprintf("JUNCTION_ENCRYPTION_KEYS entry %d", i+1)
			if label != "" {
				name = fmt.Sprintf("JUNCTION_ENCRYPTION_KEYS entry %q", label)
			}
			if ok && label == "" {
				return nil, fmt.Errorf("%s: want base64key or label:base64key", name)
			}
			raw, err := decodeKey(b64)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if err := r.addRaw(raw, label); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		return r, nil
	}
	if strings.TrimSpace(key) != "" {
		raw, err := decodeKey(key)
		if err != nil {
			return nil, fmt.Errorf("JUNCTION_ENCRYPTION_KEY: %w", err)
		}
		return r, r.addRaw(raw, "")
	}
	return nil, errors.New("no encryption key configured")
}

// LoadOrCreateKeyFile reads the key file at path, creating it (mode 0600)
// with a fresh random key when it does not exist. created reports a new file.
// The file holds one base64 key per line ('#' starts a comment): the first
// seals, the others open (rotate-keys --new-key writes two while it
// reseals, then the new one alone).
func LoadOrCreateKeyFile(path string) (r *KeyRing, created bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		enc, err := GenerateKey()
		if err != nil {
			return nil, false, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, err
		}
		if _, err := f.WriteString(enc + "\n"); err != nil {
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
	var keys []string
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		if line = strings.TrimSpace(line); line != "" {
			keys = append(keys, line)
		}
	}
	if len(keys) == 0 {
		return nil, false, fmt.Errorf("%s: no key in the file", path)
	}
	r, err = ParseKeyRing(strings.Join(keys, ","), "")
	if err != nil {
		return nil, false, fmt.Errorf("%s: %s", path, strings.NewReplacer("JUNCTION_ENCRYPTION_KEYS entry", "key").Replace(err.Error()))
	}
	return r, false, nil
}

// WriteKeyFile replaces the key file at path with keys (base64, the first
// seals), atomically: a crash leaves the old file or the new one, never a
// part. The file is mode 0600.
func WriteKeyFile(path string, keys ...string) error {
	if len(keys) == 0 {
		return errors.New("store: write key file: no key")
	}
	if _, err := ParseKeyRing(strings.Join(keys, ","), ""); err != nil {
		return fmt.Errorf("store: write key file: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".encryption.key.*")
	if err != nil {
		return fmt.Errorf("store: write key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("store: write key file: %w", err)
	}
	body := strings.Join(keys, "\n") + "\n"
	if len(keys) > 1 {
		body = "# The first key seals, the others open (a rotation in progress: run junction rotate-keys).\n" + body
	}
	if _, err := tmp.WriteString(body); err != nil {
		tmp.Close()
		return fmt.Errorf("store: write key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("store: write key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("store: write key file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("store: write key file: %w", err)
	}
	return nil
}

// GenerateKey returns a new random key, base64 (what openssl rand -base64 32
// prints).
func GenerateKey() (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(raw), nil
}

// DerivedKeyID names a key by its hash: the id stored beside what it seals.
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

// addRaw adds a key under its derived id, with label as a name for it.
func (r *KeyRing) addRaw(raw []byte, label string) error {
	id := DerivedKeyID(raw)
	if _, dup := r.keys[id]; dup {
		return fmt.Errorf("the same key (%s) is given twice", id)
	}
	if label != "" && label != id {
		if _, taken := r.keys[label]; taken {
			return fmt.Errorf("label %q is the id of another key in the ring", label)
		}
		if _, taken := r.labels[label]; taken {
			return fmt.Errorf("label %q is given twice", label)
		}
	}
	if other, taken := r.labels[id]; taken {
		return fmt.Errorf("key %s is the label of another key (%s)", id, other)
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
	r.raw[id] = raw
	r.order = append(r.order, id)
	if label != "" && label != id {
		r.labels[label] = id
	}
	return nil
}

// resolve returns the derived id that id names: itself when it is one, the
// key a label or recognised id maps to, or "".
func (r *KeyRing) resolve(id string) string {
	if _, ok := r.keys[id]; ok {
		return id
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.labels[id]
}

// recognise maps a stored key id the ring does not name to the key of the
// ring that opens that id's key-check value, and reports whether one did.
func (r *KeyRing) recognise(id string, check []byte) bool {
	if r.resolve(id) != "" {
		return true
	}
	for _, k := range r.order {
		if openCheckWith(r.keys[k], id, check) {
			r.mu.Lock()
			r.labels[id] = k
			r.mu.Unlock()
			return true
		}
	}
	return false
}

// Names returns the ring's keys for messages: each derived id, with the
// labels that name it, primary first, e.g. "key-1a2b3c4d (k2026)".
func (r *KeyRing) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	for _, id := range r.order {
		var ls []string
		for l, to := range r.labels {
			if to == id {
				ls = append(ls, l)
			}
		}
		sort.Strings(ls)
		if len(ls) > 0 {
			id += " (" + strings.Join(ls, ", ") + ")"
		}
		out = append(out, id)
	}
	return out
}

// Export returns the ring's keys as base64, primary first: what a key file
// holds. It is for writing the embedded default's key file only.
func (r *KeyRing) Export() []string {
	out := make([]string, 0, len(r.order))
	for _, id := range r.order {
		out = append(out, base64.StdEncoding.EncodeToString(r.raw[id]))
	}
	return out
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

// Primary returns the id of the key that seals (derived from the key).
func (r *KeyRing) Primary() string { return r.primary }

// Has reports whether the ring holds the key of id: a derived id, a label,
// or a stored id CheckKeys recognised.
func (r *KeyRing) Has(id string) bool { return r.resolve(id) != "" }

// Resolve returns the derived id of the key id names, or "".
func (r *KeyRing) Resolve(id string) string { return r.resolve(id) }

// IDs returns the derived key ids, primary first.
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
	aead, ok := r.keys[r.resolve(keyID)]
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
// key the ring holds under that id (a derived id, or a label of it: the
// value is bound to the id it was stored under).
func (r *KeyRing) openCheck(id string, blob []byte) bool {
	aead, ok := r.keys[r.resolve(id)]
	return ok && openCheckWith(aead, id, blob)
}

func openCheckWith(aead cipher.AEAD, id string, blob []byte) bool {
	if len(blob) < aead.NonceSize()+aead.Overhead() {
		return false
	}
	plain, err := aead.Open(nil, blob[:aead.NonceSize()], blob[aead.NonceSize():], keyCheckData(id))
	return err == nil && string(plain) == keyCheckPlain
}
