package storetest

import (
	"context"
	"testing"
)

func TestNewOrgWritesOrgAndOwner(t *testing.T) {
	db := DB(t)
	o := NewOrg(t, db, InZone("America/New_York"))
	var org struct {
		Timezone string `dynamodbav:"timezone"`
	}
	if err := db.Get(context.Background(), "ORG#"+o.ID, "ORG", &org); err != nil || org.Timezone != "America/New_York" {
		t.Fatalf("org: %v %+v", err, org)
	}
	var member struct {
		Role string `dynamodbav:"role"`
	}
	if err := db.Get(context.Background(), "ORG#"+o.ID, "USER#"+o.OwnerID, &member); err != nil || member.Role != "owner" {
		t.Fatalf("owner: %v %+v", err, member)
	}
	if DB(t) != db {
		t.Fatal("a second DB call started another server")
	}
}
