// Command privacyworker is the Lambda function on the privacy-exports
// queue, which streams each export's zip into S3 (privacy.Service.Build),
// and of the daily retention rule (privacy.Service.RunRetention).
package main

import (
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/privacywire"
)

func main() {
	platform.Main(func() error {
		return platform.StartHandler(func(d *platform.Deps) (any, error) {
			return privacywire.Privacy(d).Invoke, nil
		}, config.Table)
	})
}
