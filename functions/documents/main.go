// Command documents is the Lambda function serving a matter's documents: presigned uploads to S3, their completion, versions, listing, download links and deletion.
package main

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/documentswire"
)

func main() {
	platform.Main(func() error { return platform.StartHTTP(documentswire.Router) })
}
