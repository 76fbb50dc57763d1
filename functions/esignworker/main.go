// Command esignworker is the Lambda function on the esign-files queue: it
// downloads each signed PDF from Dropbox Sign and stores it, once, as a
// document of the matter (see esign.Worker).
package main

import (
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/esignwire"
)

func main() {
	platform.Main(func() error {
		return platform.StartHandler(func(d *platform.Deps) (any, error) {
			return esignwire.Worker(d).Handle, nil
		}, config.Table)
	})
}
