package messaging

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
)

// StatusCallbackURL is where Twilio posts a message's delivery statuses.
// Our ids ride in the query: Twilio signs the whole URL, so a callback can
// only name the message it was given for.
func (s *Service) StatusCallbackURL(orgID, messageID string) string {
	return strings.TrimRight(cmp.Or(s.WebhookURL, s.PublicURL), "/") + "/webhooks/twilio/status?" + url.Values{"org": {orgID}, "msg": {messageID}}.Encode()
}

// UnsubscribeURL is the signed link of an email to address. Opening it
// (GET) shows a page asking to confirm; only a POST (the page's button, or
// the RFC 8058 one-click POST a mail client makes) records the opt-out, so
// a mail scanner prefetching links unsubscribes no one.
func (s *Service) UnsubscribeURL(orgID, address string) string {
	return strings.TrimRight(s.PublicURL, "/") + "/unsubscribe?" + url.Values{"token": {s.unsubscribeToken(orgID, address)}}.Encode()
}

// unsubscribeFooter ends every email with the way out.
func (s *Service) unsubscribeFooter(orgID string, m Message) string {
	return "\n\n--\nTo stop these emails, open: " + s.UnsubscribeURL(orgID, m.To)
}

// unsubscribeToken is "<org>.<address>.<mac>", base64url parts: it names
// who unsubscribes from whom and cannot be forged or edited. It does not
// expire: an unsubscribe link must work for as long as the email exists.
func (s *Service) unsubscribeToken(orgID, address string) string {
	enc := base64.RawURLEncoding
	payload := enc.EncodeToString([]byte(orgID)) + "." + enc.EncodeToString([]byte(address))
	return payload + "." + enc.EncodeToString(s.mac("unsubscribe", payload))
}

// mac signs payload for one purpose: a token of one kind never opens
// another.
func (s *Service) mac(purpose, payload string) []byte {
	h := hmac.New(sha256.New, s.LinkKey)
	h.Write([]byte(purpose + "|" + payload))
	return h.Sum(nil)
}

// openUnsubscribe checks a token and returns what it names.
func (s *Service) openUnsubscribe(token string) (orgID, address string, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(s.LinkKey) == 0 {
		return "", "", false
	}
	enc := base64.RawURLEncoding
	sum, err := enc.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sum, s.mac("unsubscribe", parts[0]+"."+parts[1])) {
		return "", "", false
	}
	org, err1 := enc.DecodeString(parts[0])
	addr, err2 := enc.DecodeString(parts[1])
	if err1 != nil || err2 != nil {
		return "", "", false
	}
	return string(org), string(addr), true
}

// ConfirmURL is the link of a double opt-in request: "<org>.<request>.<mac>"
// names the stored request, which says what is confirmed and is used once.
func (s *Service) ConfirmURL(orgID, requestID string) string {
	enc := base64.RawURLEncoding
	payload := enc.EncodeToString([]byte(orgID)) + "." + enc.EncodeToString([]byte(requestID))
	return strings.TrimRight(s.PublicURL, "/") + "/consent/confirm?" + url.Values{"token": {payload + "." + enc.EncodeToString(s.mac("confirm", payload))}}.Encode()
}

// openConfirm checks a confirmation token and returns what it names.
func (s *Service) openConfirm(token string) (orgID, requestID string, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(s.LinkKey) == 0 {
		return "", "", false
	}
	enc := base64.RawURLEncoding
	sum, err := enc.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sum, s.mac("confirm", parts[0]+"."+parts[1])) {
		return "", "", false
	}
	org, err1 := enc.DecodeString(parts[0])
	id, err2 := enc.DecodeString(parts[1])
	if err1 != nil || err2 != nil || !tenantID(string(org)) || !tenantID(string(id)) {
		return "", "", false
	}
	return string(org), string(id), true
}
