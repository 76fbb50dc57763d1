package calendar

import "github.com/matterly/matterly/shared/privacy"

// The calendar in the privacy registry: a workspace export holds each
// member's connection (account, calendars, status: never the tokens),
// working hours and synced events. Events are the members' own, not a
// client's, so a client's export and erasure leave them alone; deleting
// the workspace erases them with the connections. The privacy worker
// hands that to the calendar worker (QueueDeleteOrg), which removes the
// bookings written to Outlook and ends the subscriptions with the tokens,
// then deletes it all (DeleteOrg): the types are OwnOrgErasure, so the
// workspace deletion's sweep leaves them for it.
func init() {
	privacy.Register(privacy.Type{Name: "calendar-connections", SKPrefix: connPf, ItemType: "calendarConnection", OrgOnly: true, OwnOrgErasure: true})
	privacy.Register(privacy.Type{Name: "calendar-working-hours", SKPrefix: hoursPf, ItemType: "workingHours", OrgOnly: true, OwnOrgErasure: true})
	privacy.Register(privacy.Type{Name: "calendar-events", SKPrefix: eventPf, ItemType: "calendarEvent", OrgOnly: true, OwnOrgErasure: true})
}
