package identity

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/matterly/matterly/shared/activity"
	"github.com/matterly/matterly/shared/caller"
)

// Account events in the activity log (the audit log, when it exists, takes
// the same entries). Each is written in the transaction of the change it
// records; entries name the member, never a password, link or address.
const (
	actInvited          = "user.invited"
	actInvitationResent = "user.invitation_resent"
	actInvitationAccept = "user.invitation_accepted"
	actPasswordChanged  = "user.password_changed"
	actResetRequested   = "user.password_reset_requested"
	actResetDone        = "user.password_reset"
	actSessionsEnded    = "user.sessions_ended"
	actMFAEnabled       = "user.mfa_enabled"
	actMFADisabled      = "user.mfa_disabled"
	actRecoveryUsed     = "user.mfa_recovery_code_used"
	actMFAFailed        = "user.mfa_failed" // a wrong or replayed two-factor code
)

// record is the activity entry of an account event about member userID,
// done by a (whose IP and browser it keeps).
func (s *Service) record(a caller.Caller, now time.Time, action, userID string) (types.TransactWriteItem, error) {
	return activity.Record(s.DB, a, now, activity.Entry{Action: action, EntityType: "user", EntityID: userID})
}

// as is the member u acting from the request from (its IP and browser):
// the actor of events with no signed-in caller (accepting an invitation,
// a reset by link).
func as(u User, from caller.Caller) caller.Caller {
	from.UserID, from.OrgID, from.Role = u.ID, u.OrgID, u.Role
	return from
}
