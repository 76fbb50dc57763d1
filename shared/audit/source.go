package audit

import (
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/matterly/matterly/shared/tenant"
)

// FromImage reads the activity entry a stream record's new image holds:
// its org and the audit entry to append. ok is false for any other item.
func FromImage(img map[string]events.DynamoDBAttributeValue) (orgID string, e Entry, ok bool) {
	str := func(name string) string {
		if v, ok := img[name]; ok && v.DataType() == events.DataTypeString {
			return v.String()
		}
		return ""
	}
	if str("type") != "activity" || str("id") == "" {
		return "", Entry{}, false
	}
	orgID = tenant.OrgOf(str("PK"))
	sk := str("SK")
	i := strings.Index(sk, "#")
	if orgID == "" || i < 0 {
		return "", Entry{}, false
	}
	e = Entry{ID: str("id"), Log: logName(sk[:i+1]), At: str("at"), ActorID: str("actorId"), ActorRole: str("actorRole"),
		Action: str("action"), EntityType: str("entityType"), EntityID: str("entityId"), ClientID: str("clientId"),
		MatterID: str("matterId"), Detail: str("detail"), IP: str("ip"), UserAgent: str("userAgent")}
	if v, ok := img["fields"]; ok && v.DataType() == events.DataTypeList {
		for _, f := range v.List() {
			if f.DataType() == events.DataTypeString {
				e.Fields = append(e.Fields, f.String())
			}
		}
	}
	return orgID, e, true
}

// logName names the activity log a sort key prefix stands for.
func logName(prefix string) string {
	switch prefix {
	case "ACT#":
		return "main"
	case "TRUSTACT#":
		return "trust"
	}
	return strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(prefix, "#"), "ACT"))
}
