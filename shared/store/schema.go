package store

// The one DynamoDB table schema, used by the CDK app (table and GSIs) and by
// the dev server and tests (CreateTable against the embedded server).
const (
	// DefaultTableName is the table name in make dev and tests; in AWS the
	// name comes from the TABLE_NAME environment value set by CDK.
	DefaultTableName = "matterly"

	AttrPK     = "PK"
	AttrSK     = "SK"
	AttrGSI1PK = "GSI1PK"
	AttrGSI1SK = "GSI1SK"
	AttrGSI2PK = "GSI2PK"
	AttrGSI2SK = "GSI2SK"
	// AttrTTL holds an epoch-seconds expiry. DynamoDB deletes late and the
	// local stand-in never does, so reads always check expiry themselves.
	AttrTTL = "expiresAt"

	IndexGSI1 = "GSI1"
	IndexGSI2 = "GSI2"
)

// Index is a global secondary index with string keys and all attributes projected.
type Index struct {
	Name, PartitionKey, SortKey string
}

// Indexes are the table's GSIs. Every tenant item's GSI partition key starts
// with ORG#<orgId>, like its primary key, so index queries stay in one tenant.
var Indexes = []Index{
	{Name: IndexGSI1, PartitionKey: AttrGSI1PK, SortKey: AttrGSI1SK},
	{Name: IndexGSI2, PartitionKey: AttrGSI2PK, SortKey: AttrGSI2SK},
}

// Keys are an item's table and index keys and its type. Embedded in an item
// struct that is also an API type, they never leave the server (json:"-").
type Keys struct {
	PK     string `dynamodbav:"PK" json:"-"`
	SK     string `dynamodbav:"SK" json:"-"`
	GSI1PK string `dynamodbav:"GSI1PK,omitempty" json:"-"`
	GSI1SK string `dynamodbav:"GSI1SK,omitempty" json:"-"`
	GSI2PK string `dynamodbav:"GSI2PK,omitempty" json:"-"`
	GSI2SK string `dynamodbav:"GSI2SK,omitempty" json:"-"`
	Type   string `dynamodbav:"type" json:"-"`
}
