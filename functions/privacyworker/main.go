// Command privacyworker is the Lambda function on the privacy-exports
// queue: it streams each export's zip into S3 (see privacy.Service.Build).
package main

import (
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire"
)

func main() {
	platform.Main(func() error {
		return platform.StartHandler(func(d *platform.Deps) (any, error) {
			return wire.Privacy(d).Handle, nil
		}, config.Table)
	})
}
