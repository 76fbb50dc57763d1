// Command infra is the Matterly CDK app. Run it through the CDK CLI
// (`cdk synth`, `cdk deploy`, with cdk.json at the repo root) or directly
// with `go run ./infra` (the cloud assembly goes to $CDK_OUTDIR). Both read
// the context of cdk.json, and expect the function zips under build/.
//
// `go run ./infra -placeholder-code` synthesizes the same template from
// placeholder zips, for checks of the template alone (make lint runs
// cfn-lint on it) without building every function. The CDK CLI never
// passes the flag, so a deploy always takes build/.
package main

import (
	"archive/zip"
	"flag"
	"log"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// codeDir is where `make build` leaves build/<function>.zip, relative to the
// repo root (the working directory of both the CLI and `go run ./infra`).
const codeDir = "build"

func main() {
	placeholders := flag.Bool("placeholder-code", false, "synthesize from placeholder function zips (template checks only; never deploy)")
	flag.Parse()
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
	codeDir := codeDir
	if *placeholders {
		dir, err := os.MkdirTemp("", "matterly-placeholder-code-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
		codeDir = filepath.Join(dir, "build")
		if err := writePlaceholderCode(codeDir); err != nil {
			log.Fatal(err)
		}
	}
	if err := checkCode(codeDir); err != nil {
		log.Fatalf("function packages missing (run make build first):\n%v", err)
	}

	version, _ := app.Node().TryGetContext(jsii.String(ContextTokenKeyVersion)).(string)
	emailFrom, _ := app.Node().TryGetContext(jsii.String(ContextEmailFrom)).(string)
	aiBase, _ := app.Node().TryGetContext(jsii.String(ContextOpenAIBaseURL)).(string)
	aiModel, _ := app.Node().TryGetContext(jsii.String(ContextOpenAIModel)).(string)
	dbxClient, _ := app.Node().TryGetContext(jsii.String(ContextDropboxSignClientID)).(string)
	dbxTestMode, _ := app.Node().TryGetContext(jsii.String(ContextDropboxSignTestMode)).(string)
	msClient, _ := app.Node().TryGetContext(jsii.String(ContextMSClientID)).(string)
	msTenant, _ := app.Node().TryGetContext(jsii.String(ContextMSTenantID)).(string)
	NewMatterlyStack(app, "Matterly", &MatterlyStackProps{
		CodeDir:         codeDir,
		CorsOrigins:     origins,
		TokenKeyVersion: version,
		EmailFrom:       emailFrom,
		OpenAIBaseURL:   aiBase,
		OpenAIModel:     aiModel,

		DropboxSignClientID: dbxClient,
		DropboxSignTestMode: dbxTestMode,
		MSClientID:          msClient, MSTenantID: msTenant,
	})
	app.Synth(nil)
}

// writePlaceholderCode writes a zip holding a placeholder bootstrap for
// every function into dir: enough for a synth whose template is checked,
// never for a deploy (the tests and -placeholder-code).
func writePlaceholderCode(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range codeFunctions() {
		f, err := os.Create(codePath(dir, name))
		if err != nil {
			return err
		}
		zw := zip.NewWriter(f)
		w, err := zw.Create("bootstrap")
		if err == nil {
			_, err = w.Write([]byte("placeholder " + name))
		}
		if err == nil {
			err = zw.Close()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
