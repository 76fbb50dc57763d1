package tenant

import "testing"

func TestOrgOf(t *testing.T) {
	tests := map[string]string{
		PK("01ORG"):                 "01ORG",
		PK("01ORG") + "#CLIENTS":    "", // an index partition, not the org's
		"LOGIN#email#a@example.com": "",
		"ORG#":                      "",
	}
	for pk, want := range tests {
		if got := OrgOf(pk); got != want {
			t.Errorf("OrgOf(%q) = %q, want %q", pk, got, want)
		}
	}
}

func TestRoleIn(t *testing.T) {
	c := RoleIn("owner", "admin")
	if c.Expr != "#r IN (:role0, :role1)" || c.Names["#r"] != "role" || len(c.Values) != 2 {
		t.Errorf("RoleIn = %+v", c)
	}
}

func TestZone(t *testing.T) {
	for name, want := range map[string]string{"America/New_York": "America/New_York", "": "UTC", "Not/AZone": "UTC", "UTC": "UTC"} {
		if got := Zone(name).String(); got != want {
			t.Errorf("Zone(%q) = %s, want %s", name, got, want)
		}
	}
}
