// Command speech is the Lambda function (a function URL in RESPONSE_STREAM
// mode) that streams a summary read aloud to the browser.
package main

import (
	"github.com/matterly/matterly/shared/config"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/summarieswire"
)

func main() {
	platform.Main(func() error {
		return platform.StartHandler(func(d *platform.Deps) (any, error) {
			return summarieswire.SpeechHandler(d).Handle, nil
		}, config.HTTP...)
	})
}
