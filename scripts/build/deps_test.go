package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pdfiumBlob is the symbol of PDFium's WebAssembly module (about 5.7 MB)
// in a linked binary.
const pdfiumBlob = "github.com/klippa-app/go-pdfium/webassembly..gobytes"

// TestPDFiumOnlyWhereNeeded: PDFium (WebAssembly, 5.7 MB and 1.5 s to
// start) is linked only into the functions that extract document text.
// Most functions do not even import it; speech imports the summaries
// package but never extracts, so the linker must leave the module out.
func TestPDFiumOnlyWhereNeeded(t *testing.T) {
	mains, err := filepath.Glob("../../functions/*/main.go")
	if err != nil || len(mains) == 0 {
		t.Fatalf("no functions found: %v", err)
	}
	extracts := map[string]bool{"ai": true, "aiworker": true}
	// One go list for every function (each one's packages, then its
	// dependencies, a line per function): a list per function loaded the
	// module's package graph once each.
	out, err := exec.Command("go", "list", "-f", "{{.Name}} {{.ImportPath}} {{join .Deps \" \"}}", "../../functions/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "main" {
			deps[f[1][strings.LastIndexByte(f[1], '/')+1:]] = line
		}
	}
	var check []string // import PDFium's packages, must not link its module
	for _, m := range mains {
		fn := filepath.Base(filepath.Dir(m))
		list, ok := deps[fn]
		if !ok {
			t.Fatalf("go list did not list functions/%s", fn)
		}
		imports := strings.Contains(list, "github.com/klippa-app/go-pdfium")
		switch {
		case extracts[fn] && !imports:
			t.Errorf("%s does not link PDFium but extracts text", fn)
		case !extracts[fn] && imports:
			check = append(check, fn)
		}
	}
	for _, fn := range linked(t, check) {
		t.Errorf("%s links PDFium's WebAssembly module, which only text extraction needs", fn)
	}
}

// linked builds the functions fns and returns those whose binary holds
// PDFium's module. One go build for all of them: it loads the packages
// once and links side by side, where a build per function took about
// 10 s each on a busy machine.
func linked(t *testing.T, fns []string) []string {
	if len(fns) == 0 {
		return nil
	}
	dir := t.TempDir()
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, fn := range fns {
		args = append(args, "../../functions/"+fn)
	}
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("build %v: %v\n%s", fns, err, out)
	}
	var with []string
	for _, fn := range fns {
		syms, err := exec.Command("go", "tool", "nm", filepath.Join(dir, fn)).Output()
		if err != nil {
			t.Fatalf("nm %s: %v", fn, err)
		}
		if strings.Contains(string(syms), pdfiumBlob) {
			with = append(with, fn)
		}
	}
	return with
}
