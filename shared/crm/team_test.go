package crm

import (
	"slices"
	"testing"
)

// TestOnMatter: the responsible attorney and team members someone else put
// on the team work on a matter; a place one gave oneself, or one whose
// origin is unknown (kept before grants were), widens nothing.
func TestOnMatter(t *testing.T) {
	m := Matter{ResponsibleAttorneyID: "ra", Team: List{"given", "self", "legacy"},
		TeamGrants: map[string]string{"given": "owner", "self": "self"}}
	tests := []struct {
		user string
		want bool
	}{
		{"ra", true},
		{"given", true},
		{"self", false},
		{"legacy", false},
		{"stranger", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := m.OnMatter(tt.user); got != tt.want {
			t.Errorf("OnMatter(%q) = %v, want %v", tt.user, got, tt.want)
		}
	}
	// A grant outlives no removal: off the team, off the matter.
	m.Team = List{"self"}
	if m.OnMatter("given") {
		t.Error("a member removed from the team still works on the matter")
	}
}

// TestGrantTeam: members already on the team keep who put them there; new
// ones are granted by whoever changes the team; removed ones lose theirs.
func TestGrantTeam(t *testing.T) {
	before := Matter{Team: List{"kept", "gone", "legacy"}, TeamGrants: map[string]string{"kept": "owner", "gone": "owner"}}
	after := Matter{Team: List{"kept", "new", "legacy"}}
	after.grantTeam(before, "lead")
	want := map[string]string{"kept": "owner", "new": "lead"}
	if len(after.TeamGrants) != len(want) {
		t.Fatalf("grants %v, want %v", after.TeamGrants, want)
	}
	for id, by := range want {
		if after.TeamGrants[id] != by {
			t.Errorf("grant of %s = %q, want %q", id, after.TeamGrants[id], by)
		}
	}
	// Opening a matter: the opener grants every place, their own included
	// (which OnMatter then ignores).
	opened := Matter{Team: List{"opener", "colleague"}}
	opened.grantTeam(Matter{}, "opener")
	if !slices.Equal([]string{opened.TeamGrants["opener"], opened.TeamGrants["colleague"]}, []string{"opener", "opener"}) ||
		opened.OnMatter("opener") || !opened.OnMatter("colleague") {
		t.Errorf("opened matter grants %v", opened.TeamGrants)
	}
	empty := Matter{}
	empty.grantTeam(before, "lead")
	if empty.TeamGrants != nil {
		t.Errorf("no team, grants %v", empty.TeamGrants)
	}
}
