package sftp

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/junctionhq/junction/providers"
)

// address returns host:port from the settings.
func address(cfg providers.Config) (string, error) {
	host := strings.TrimSpace(cfg.String("host"))
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if host == "" || strings.ContainsAny(host, "/\\@ \t\r\n") {
		return "", providers.InvalidField("host", "sftp: host %q is not a host name or IP address", host)
	}
	port, err := providers.Port("sftp", "port", cfg, 22)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.FormatInt(port, 10)), nil
}

// authMethods returns the SSH authentication for the configured method: a
// password (also offered as keyboard-interactive, which many servers use for
// passwords), or a private key, decrypted with the passphrase when it is
// encrypted.
func authMethods(cfg providers.Config) ([]ssh.AuthMethod, error) {
	switch cfg.String("auth_method") {
	case "private_key":
		pem := []byte(cfg.Secret("private_key_pem"))
		signer, err := ssh.ParsePrivateKey(pem)
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			if cfg.Secret("passphrase") == "" {
				return nil, providers.InvalidField("passphrase", "sftp: the private key is encrypted; set passphrase")
			}
			signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(cfg.Secret("passphrase")))
			if errors.Is(err, x509.IncorrectPasswordError) {
				return nil, providers.InvalidField("passphrase", "sftp: the passphrase does not decrypt the private key")
			}
		}
		if err != nil {
			return nil, providers.InvalidField("private_key_pem", "sftp: private_key_pem is not a private key in PEM or OpenSSH format")
		}
		return []ssh.AuthMethod{ssh.PublicKeys(signer)}, nil
	case "", "password":
		pw := cfg.Secret("password")
		return []ssh.AuthMethod{
			ssh.Password(pw),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				switch len(questions) {
				case 0:
					return nil, nil
				case 1:
					return []string{pw}, nil
				}
				return nil, errors.New("the server asked more than a password")
			}),
		}, nil
	}
	return nil, providers.InvalidField("auth_method", "sftp: auth_method %q is not password or private_key", cfg.String("auth_method"))
}

// pins is the set of host keys a connection trusts, as SHA256 fingerprints.
type pins struct {
	fingerprints []string
	// algorithms, when every pin is a full key, restricts the host key
	// algorithms to the pinned keys' so the server presents a pinned one.
	algorithms []string
}

// parsePins reads host_key_fingerprint: one pin per line, each either a
// fingerprint as printed by `ssh-keygen -lf` ("SHA256:..."), a known_hosts
// line ("host ssh-ed25519 AAAA..."), or a bare public key ("ssh-ed25519
// AAAA..."). Host names in known_hosts lines are not matched: the pin belongs
// to this connection. Empty means nothing is pinned.
func parsePins(field string) (pins, error) {
	var p pins
	onlyKeys := true
	for _, line := range strings.Split(field, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if fp, ok := strings.CutPrefix(line, "SHA256:"); ok {
			fp = strings.TrimRight(fp, "=")
			if b, err := base64.RawStdEncoding.DecodeString(fp); err != nil || len(b) != 32 {
				return pins{}, providers.InvalidField("host_key_fingerprint", "sftp: host_key_fingerprint %q is not a SHA256 fingerprint", line)
			}
			p.fingerprints = append(p.fingerprints, "SHA256:"+fp)
			onlyKeys = false
			continue
		}
		if strings.HasPrefix(line, "MD5:") {
			return pins{}, providers.InvalidField("host_key_fingerprint", "sftp: MD5 host key fingerprints are not accepted; use the SHA256 one (ssh-keygen -lf)")
		}
		key, err := parseKeyLine(line)
		if err != nil {
			return pins{}, err
		}
		p.fingerprints = append(p.fingerprints, ssh.FingerprintSHA256(key))
		for _, a := range keyAlgorithms(key.Type()) {
			if !slices.Contains(p.algorithms, a) {
				p.algorithms = append(p.algorithms, a)
			}
		}
	}
	if !onlyKeys {
		p.algorithms = nil
	}
	return p, nil
}

func parseKeyLine(line string) (ssh.PublicKey, error) {
	marker, _, key, _, _, err := ssh.ParseKnownHosts([]byte(line))
	if err == nil {
		if marker != "" {
			return nil, providers.InvalidField("host_key_fingerprint", "sftp: host_key_fingerprint: @%s known_hosts lines are not accepted; pin the host's own key", marker)
		}
		return key, nil
	}
	key, _, _, _, err = ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return nil, providers.InvalidField("host_key_fingerprint",
			"sftp: host_key_fingerprint must be SHA256:… (ssh-keygen -lf), a known_hosts line or a public key line")
	}
	return key, nil
}

// keyAlgorithms lists the host key algorithms that present a key of format t.
func keyAlgorithms(t string) []string {
	if t == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
	}
	return []string{t}
}

// hostKeyError is the refusal of a host key: unpinned or not matching.
type hostKeyError struct {
	presented ssh.PublicKey
	expected  []string
}

func (e *hostKeyError) Error() string {
	got := fmt.Sprintf("%s (%s)", ssh.FingerprintSHA256(e.presented), e.presented.Type())
	if len(e.expected) == 0 {
		return "sftp: no host key is pinned for this connection; the server presented " + got +
			". Confirm it with the server's administrator (ssh-keygen -lf on the server's host key) and set host_key_fingerprint to it"
	}
	return fmt.Sprintf("sftp: host key mismatch: the server presented %s, expected %s", got, strings.Join(e.expected, " or "))
}

// check accepts key only when it matches a pin. With no pins nothing is
// accepted: the error names the key so the user can pin it.
func (p pins) check(key ssh.PublicKey) error {
	if slices.Contains(p.fingerprints, ssh.FingerprintSHA256(key)) {
		return nil
	}
	return &hostKeyError{presented: key, expected: p.fingerprints}
}
