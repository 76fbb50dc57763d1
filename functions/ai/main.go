// Command ai is the Lambda function for AI document summaries and drafting;
// functions/aiworker finishes long summaries, functions/speech reads them aloud.
package main

import (
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/platform"
	"github.com/matterly/matterly/shared/providers/openai"
	"github.com/matterly/matterly/shared/summaries"
)

func main() {
	platform.Main(func() error {
		return platform.StartHTTP(func(d *platform.Deps) (*httpapi.Router, error) {
			return summaries.NewRouter(d, openai.FromDeps(d))
		})
	})
}
