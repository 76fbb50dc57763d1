// Command totp prints the current two-factor code of a TOTP secret, as an
// authenticator app (or `oathtool --totp -b SECRET`) would: RFC 6238,
// HMAC-SHA-1, 6 digits, 30-second steps. It is for trying two-factor sign-in
// in make dev:
//
//	go run ./scripts/totp JBSWY3DPEHPK3PXP
package main

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/totp SECRET (base32, as POST /v1/me/mfa/totp returns it)")
		os.Exit(2)
	}
	secret := strings.ToUpper(strings.TrimRight(strings.ReplaceAll(os.Args[1], " ", ""), "="))
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		fmt.Fprintln(os.Stderr, "totp: the secret is not base32:", err)
		os.Exit(1)
	}
	fmt.Println(code(key, time.Now()))
}

// code is the 6-digit TOTP code of key at t (RFC 6238 over RFC 4226).
func code(key []byte, t time.Time) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(t.Unix()/30))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(sum[off:off+4])&0x7fffffff)%1000000)
}
