// Package access defines the roles of an org's members and what each may do.
// The permission matrix lives here, in one place, so handlers ask "may this
// role do that" instead of listing roles themselves.
package access

// Role is a member's role in their org.
type Role string

// The roles, from most to least privileged for org administration.
const (
	Owner    Role = "owner"
	Admin    Role = "admin"
	Attorney Role = "attorney"
	Staff    Role = "staff"
	Billing  Role = "billing"
)

// Roles lists every valid role.
var Roles = []Role{Owner, Admin, Attorney, Staff, Billing}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, v := range Roles {
		if r == v {
			return true
		}
	}
	return false
}

// rank orders roles for "nobody grants more than they have": owner > admin >
// everyone else. Attorney, staff and billing are different jobs, not ranks.
func (r Role) rank() int {
	switch r {
	case Owner:
		return 3
	case Admin:
		return 2
	case Attorney, Staff, Billing:
		return 1
	}
	return 0
}

// AtLeast reports whether r is at least as privileged as other.
func (r Role) AtLeast(other Role) bool { return r.rank() >= other.rank() }

// Permission is an action guarded by role.
type Permission string

// The permissions. Each capability adds its own here, so the whole matrix
// reads in one place.
const (
	ReadOrg     Permission = "org:read"
	ManageOrg   Permission = "org:manage"
	ReadUsers   Permission = "users:read"
	ManageUsers Permission = "users:manage"
)

// matrix is the one permission matrix: permission → roles allowed.
var matrix = map[Permission][]Role{
	ReadOrg:     {Owner, Admin, Attorney, Staff, Billing},
	ManageOrg:   {Owner, Admin},
	ReadUsers:   {Owner, Admin, Attorney, Staff, Billing},
	ManageUsers: {Owner, Admin},
}

// Can reports whether role r holds permission p.
func Can(r Role, p Permission) bool {
	for _, allowed := range matrix[p] {
		if r == allowed {
			return true
		}
	}
	return false
}

// RolesWith returns the roles that hold permission p.
func RolesWith(p Permission) []Role { return append([]Role(nil), matrix[p]...) }

// Matrix returns a copy of the permission matrix, for documentation and tests.
func Matrix() map[Permission][]Role {
	out := make(map[Permission][]Role, len(matrix))
	for p, rs := range matrix {
		out[p] = append([]Role(nil), rs...)
	}
	return out
}
