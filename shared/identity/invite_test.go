package identity

import (
	"strings"
	"testing"
	"time"
)

// TestUserStatus: members created with a password (no status) and those who
// accepted are active; only an invitation not yet accepted shows invited.
func TestUserStatus(t *testing.T) {
	for _, tt := range []struct{ stored, want string }{{"", "active"}, {"active", "active"}, {"invited", "invited"}} {
		u := User{Status: tt.stored}
		if got := toUserJSON(u).Status; got != tt.want || u.Active() != (tt.want == "active") {
			t.Errorf("status %q: shown %q, active %v; want %q", tt.stored, got, u.Active(), tt.want)
		}
	}
}

// TestNewInvite: the link leads to the app, carries a token of the
// refresh shape, and only the secret's hash is kept; a second link
// replaces the first.
func TestNewInvite(t *testing.T) {
	s := &Service{AppBaseURL: "https://app.matterly.example/"}
	now := time.Unix(1_800_000_000, 0)
	u := User{ID: "01M847EQQ3EDK62QDNW6MZXM6T", OrgID: "01M847EQQ3EDK62QDNW09KYJ9X"}
	link, err := s.newInvite(&u, now)
	if err != nil {
		t.Fatal(err)
	}
	tok, ok := strings.CutPrefix(link, "https://app.matterly.example/accept-invite?token=")
	if !ok {
		t.Fatalf("link %q", link)
	}
	org, id, secret, ok := parseRefresh(tok)
	if !ok || org != u.OrgID || id != u.ID || hashSecret(secret) != u.InviteHash || strings.Contains(link, u.InviteHash) {
		t.Fatalf("token %q does not match the member (hash %q)", tok, u.InviteHash)
	}
	if u.InviteExpires != now.Add(7*24*time.Hour).Unix() {
		t.Errorf("expires %d", u.InviteExpires)
	}
	first := u.InviteHash
	if _, err := s.newInvite(&u, now); err != nil || u.InviteHash == first {
		t.Errorf("a second link kept the first one's hash")
	}
}
