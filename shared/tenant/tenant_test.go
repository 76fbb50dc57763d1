package tenant

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

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

// TestOrgZoneEmbedded: capabilities embed OrgZone in their wider projection
// of the org item (messaging), so it must decode alone and embedded.
func TestOrgZoneEmbedded(t *testing.T) {
	item := map[string]types.AttributeValue{"timezone": &types.AttributeValueMemberS{Value: "America/New_York"},
		"name": &types.AttributeValueMemberS{Value: "Firm"}}
	var alone OrgZone
	var wide struct {
		OrgZone
		Name string `dynamodbav:"name"`
	}
	for name, tc := range map[string]struct {
		out  any
		zone *OrgZone
	}{"alone": {&alone, &alone}, "embedded": {&wide, &wide.OrgZone}} {
		if err := attributevalue.UnmarshalMap(item, tc.out); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := tc.zone.Loc().String(); got != "America/New_York" {
			t.Errorf("%s: Loc() = %s, want America/New_York", name, got)
		}
	}
	if got := (OrgZone{}).Loc(); got != time.UTC {
		t.Errorf("unset OrgZone: Loc() = %v, want UTC", got)
	}
}
