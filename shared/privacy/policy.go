package privacy

// Policy is an org's retention policy (GET and PATCH /v1/privacy/retention).
type Policy struct {
	// ClosedMatterYears is how long a closed matter, its documents and
	// notes are kept after it closed.
	ClosedMatterYears int `dynamodbav:"closedMatterYears" json:"closedMatterYears"`
	// AuditYears is how long the audit log is kept.
	AuditYears int `dynamodbav:"auditYears" json:"auditYears"`
}

// DefaultPolicy is the policy of an org that set none.
var DefaultPolicy = Policy{ClosedMatterYears: 7, AuditYears: 7}
