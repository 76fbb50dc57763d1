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

// TestCRMAndDocumentRules pins the rules the product promises: billing
// never reads privileged notes or documents, staff delete only the matters
// they are on, and only lawyers delete clients, matters and documents.
func TestCRMAndDocumentRules(t *testing.T) {
	// roles: owner, admin, attorney, staff, billing
	want := map[Permission][5]bool{
		ReadClients:           {true, true, true, true, true},
		WriteClients:          {true, true, true, true, false},
		DeleteClients:         {true, true, true, false, false},
		ReadMatters:           {true, true, true, true, true},
		WriteMatters:          {true, true, true, true, false},
		DeleteMatters:         {true, true, true, false, false},
		DeleteAssignedMatters: {true, true, true, true, false},
		ReadNotes:             {true, true, true, true, false},
		WriteNotes:            {true, true, true, true, false},
		ManageNotes:           {true, true, true, false, false},
		ReadBookings:          {true, true, true, true, true},
		WriteBookings:         {true, true, true, true, false},
		ReadActivity:          {true, true, true, true, false},
		// Calendar (issue 19): everyone connects their own and schedules.
		UseCalendar: {true, true, true, true, true},
		// Trust (issue 7): owner, admin and billing keep the books;
		// attorneys read their matters' ledgers; staff see nothing.
		ReadTrust:        {true, true, false, false, true},
		WriteTrust:       {true, true, false, false, true},
		ReadMatterLedger: {true, true, true, false, true},
		// Payments (issue 6): only owner and billing connect Stripe.
		ManagePayments:  {true, false, false, false, true},
		ReadInvoices:    {true, true, true, false, true},
		WriteInvoices:   {true, true, false, false, true},
		ReadDocuments:   {true, true, true, true, false},
		WriteDocuments:  {true, true, true, true, false},
		DeleteDocuments: {true, true, true, false, false},
		// Messaging (issue 4): everyone texts clients; owners and admins
		// set reminder times and quiet hours.
		SendMessages:    {true, true, true, true, true},
		RecordConsent:   {true, true, true, true, true},
		ManageMessaging: {true, true, false, false, false},
		// Consent (issue 13): billing opts no one in; only owners and
		// admins override a client's own opt-out.
		OptInConsent:    {true, true, true, true, false},
		OverrideConsent: {true, true, false, false, false},
		// AI (issue 5): the people who work on matters; billing never sends
		// documents to the AI.
		UseAI: {true, true, true, true, false},
	}
	for p, allowed := range want {
		for i, r := range Roles {
			if got := Can(r, p); got != allowed[i] {
				t.Errorf("Can(%s, %s) = %v, want %v", r, p, got, allowed[i])
			}
		}
	}
}
