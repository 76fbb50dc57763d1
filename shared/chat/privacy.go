package chat

import "github.com/matterly/matterly/shared/privacy"

// Chat in the privacy registry: a workspace export holds every thread,
// its members, every message with its edit history (deleted ones
// included: compliance keeps them) and every attachment's bytes. Chat is
// the firm's own record, never a client's, so a client's export and
// erasure leave it alone; deleting the workspace erases it all (DeleteOrg,
// which also drops the live connections and the files).
func init() {
	privacy.Register(privacy.Type{Name: "chat-threads", SKPrefix: "CHAT#T#", ItemType: "chatThread", OrgOnly: true})
	privacy.Register(privacy.Type{Name: "chat-members", SKPrefix: "CHAT#M#", ItemType: "chatMember", OrgOnly: true})
	privacy.Register(privacy.Type{Name: "chat-messages", SKPrefix: "CHAT#MSG#", ItemType: "chatMessage", OrgOnly: true})
	privacy.Register(privacy.Type{Name: "chat-attachments", SKPrefix: "CHAT#ATT#", ItemType: "chatAttachment", OrgOnly: true,
		Omit: []string{"objectKey", "versionId"}, File: attachmentFile})
}

// attachmentFile is where an attachment's bytes go in an export.
func attachmentFile(r privacy.Row) (path, key, versionID string, ok bool) {
	if r.Str("objectKey") == "" || r.Str("messageId") == "" {
		return "", "", "", false // never sent: the upload may not exist
	}
	return "chat/" + r.Str("threadId") + "/" + r.Str("id") + "/" + privacy.SafeName(r.Str("fileName")), r.Str("objectKey"), r.Str("versionId"), true
}
