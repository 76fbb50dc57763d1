// Command esign is the Lambda function for e-signatures through Dropbox
// Sign: sending a matter's document for signature, tracking, cancelling
// and reminding.
package main

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/esignwire"
)

func main() {
	platform.Main(func() error { return platform.StartHTTP(esignwire.Router) })
}
