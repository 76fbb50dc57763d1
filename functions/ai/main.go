// Command ai is the Lambda function for AI document summaries and drafting;
// functions/aiworker finishes long summaries, functions/speech reads them aloud.
package main

import (
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/wire/summarieswire"
)

func main() {
	platform.Main(func() error {
		return platform.StartHTTP(summarieswire.AIRouter)
	})
}
