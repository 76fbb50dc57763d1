// Command trust is the Lambda function keeping the trust accounting records:
// accounts, the journal, client and matter ledgers and reconciliation.
package main

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/trustwire"
)

func main() {
	platform.Main(func() error { return platform.StartHTTP(trustwire.Router) })
}
