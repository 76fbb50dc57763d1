package access

import "testing"

func TestMatrix(t *testing.T) {
	tests := []struct {
		role Role
		perm Permission
		want bool
	}{
		{Owner, ManageUsers, true},
		{Admin, ManageUsers, true},
		{Attorney, ManageUsers, false},
		{Staff, ManageOrg, false},
		{Billing, ManageOrg, false},
		{Billing, ReadUsers, true},
		{Role("emperor"), ReadOrg, false},
	}
	for _, tt := range tests {
		if got := Can(tt.role, tt.perm); got != tt.want {
			t.Errorf("Can(%s, %s) = %v, want %v", tt.role, tt.perm, got, tt.want)
		}
	}
	for p, roles := range Matrix() {
		if len(roles) == 0 {
			t.Errorf("permission %s has no role", p)
		}
		for _, r := range roles {
			if !r.Valid() {
				t.Errorf("permission %s lists unknown role %q", p, r)
			}
		}
	}
}

func TestRank(t *testing.T) {
	if !Owner.AtLeast(Admin) || Admin.AtLeast(Owner) || !Admin.AtLeast(Billing) || Staff.AtLeast(Admin) || !Staff.AtLeast(Attorney) {
		t.Error("rank order is owner > admin > the rest")
	}
}
