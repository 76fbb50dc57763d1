package tenant_test

import (
	"context"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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
		Role   string `dynamodbav:"role"`
		Name   string `dynamodbav:"name"`
		Status string `dynamodbav:"status,omitempty"`
	}
	for _, m := range []member{
		{Keys: store.Keys{PK: tenant.PK("o1"), SK: tenant.MemberSK("ada"), Type: "user"}, Role: "attorney", Name: "Ada"},
		{Keys: store.Keys{PK: tenant.PK("o1"), SK: tenant.MemberSK("bob"), Type: "user"}, Role: "superuser"},
		{Keys: store.Keys{PK: tenant.PK("o1"), SK: tenant.MemberSK("ivy"), Type: "user"}, Role: "owner", Name: "Ada", Status: tenant.Invited},
		{Keys: store.Keys{PK: tenant.PK("o1"), SK: tenant.MemberSK("al"), Type: "user"}, Role: "attorney", Name: "Ada", Status: "active"},
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
		{name: "invitation not accepted", org: "o1", user: "ivy"},
		{name: "active status", org: "o1", user: "al", wantFound: true, wantRole: access.Attorney},
		{name: "empty ids", org: "", user: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, found, err := tenant.Members{DB: db}.Member(ctx, tt.org, tt.user)
			if err != nil || found != tt.wantFound || m.Role != tt.wantRole {
				t.Fatalf("Member = %+v, %v, %v; want %s, %v", m, found, err, tt.wantRole, tt.wantFound)
			}
			// The write-time check agrees with the read-time one.
			err = db.Transact(ctx, tenant.MemberWith(db, tt.org, tt.user, access.ReadOrg))
			if (err == nil) != tt.wantFound {
				t.Errorf("MemberWith: err = %v, want found %v", err, tt.wantFound)
			}
			if found {
				// Only the role and the status are read (a projection):
				// the check on every request decodes nothing else.
				item, _ := m.Item.(map[string]types.AttributeValue)
				if store.String(item, "role") != string(tt.wantRole) || item["name"] != nil || item["PK"] != nil {
					t.Errorf("item = %v", m.Item)
				}
			}
		})
	}
}
