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
			if linked(t, fn) {
				t.Errorf("%s links PDFium's WebAssembly module, which only text extraction needs", fn)
			}
		}
	}
}

// linked builds fn and reports whether its binary holds PDFium's module.
func linked(t *testing.T, fn string) bool {
	bin := filepath.Join(t.TempDir(), fn)
	if out, err := exec.Command("go", "build", "-o", bin, "../../functions/"+fn).CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", fn, err, out)
	}
	syms, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("nm %s: %v", fn, err)
	}
	return strings.Contains(string(syms), pdfiumBlob)
}
