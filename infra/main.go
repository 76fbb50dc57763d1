// Command infra is the Matterly CDK app. Run it through the CDK CLI
// (`cdk synth`, `cdk deploy`, with cdk.json at the repo root) or directly
// with `go run ./infra` (the cloud assembly goes to $CDK_OUTDIR). Both read
// the context of cdk.json, and expect the function zips under build/.
package main

import (
	"log"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// codeDir is where `make build` leaves build/<function>.zip, relative to the
// repo root (the working directory of both the CLI and `go run ./infra`).
const codeDir = "build"

func main() {
	defer jsii.Close()

	// The CLI passes cdk.json context itself and its values win over these;
	// loading the file too makes a direct run synthesize the same template.
	ctx, err := loadCDKContext("cdk.json")
	if err != nil {
		log.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})

	origins, err := stringList(app.Node().TryGetContext(jsii.String(ContextCorsOrigins)))
	if err != nil {
		log.Fatalf("context %s: %v", ContextCorsOrigins, err)
	}
	if err := checkCode(codeDir); err != nil {
		log.Fatalf("function packages missing (run make build first):\n%v", err)
	}

	version, _ := app.Node().TryGetContext(jsii.String(ContextTokenKeyVersion)).(string)
	emailFrom, _ := app.Node().TryGetContext(jsii.String(ContextEmailFrom)).(string)
	aiBase, _ := app.Node().TryGetContext(jsii.String(ContextOpenAIBaseURL)).(string)
	aiModel, _ := app.Node().TryGetContext(jsii.String(ContextOpenAIModel)).(string)
	NewMatterlyStack(app, "Matterly", &MatterlyStackProps{
		CodeDir:         codeDir,
		CorsOrigins:     origins,
		TokenKeyVersion: version,
		EmailFrom:       emailFrom,
		OpenAIBaseURL:   aiBase,
		OpenAIModel:     aiModel,
	})
	app.Synth(nil)
}
