package tenant_test

import (
	"context"
	"testing"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/localaws"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// TestMembers reads member items from the embedded DynamoDB as the router
// does on every authenticated request.
func TestMembers(t *testing.T) {
	dyn, err := localaws.StartDynamo("")
	if err != nil {
		t.Fatal(err)
	}
	defer dyn.Close()
	db := store.New(dyn.Client(), store.DefaultTableName)
	ctx := context.Background()
	type member struct {
		store.Keys
		Role string `dynamodbav:"role"`
		Name string `dynamodbav:"name"`
	}
	for _, m := range []member{
		{Keys: store.Keys{PK: tenant.PK("o1"), SK: tenant.MemberSK("ada"), Type: "user"}, Role: "attorney", Name: "Ada"},
		{Keys: store.Keys{PK: tenant.PK("o1"), SK: tenant.MemberSK("bob"), Type: "user"}, Role: "superuser"},
	} {
		if err := db.PutItem(ctx, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, org, user string
		wantFound       bool
		wantRole        access.Role
	}{
		{name: "member", org: "o1", user: "ada", wantFound: true, wantRole: access.Attorney},
		{name: "removed", org: "o1", user: "cy"},
		{name: "other org", org: "o2", user: "ada"},
		{name: "unknown role grants nothing", org: "o1", user: "bob"},
		{name: "empty ids", org: "", user: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, found, err := tenant.Members{DB: db}.Member(ctx, tt.org, tt.user)
			if err != nil || found != tt.wantFound || m.Role != tt.wantRole {
				t.Fatalf("Member = %+v, %v, %v; want %s, %v", m, found, err, tt.wantRole, tt.wantFound)
			}
			if found {
				if item, _ := m.Item.(map[string]any); item["name"] != "Ada" {
					t.Errorf("item = %v", m.Item)
				}
			}
		})
	}
}
