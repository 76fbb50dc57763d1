// Command testplan splits the module's packages for make test: those whose
// code or tests can run goroutines (a go statement, a WaitGroup's Go,
// t.Parallel, RunParallel, testing/synctest, or the sync, sync/atomic and
// errgroup packages) run under the race detector; the others, whose own code
// starts none, run without it, at half the time (the detector's build and
// its instrumented run). A package gains the detector as soon as it gains
// concurrency: there is no list to keep. Goroutines a dependency starts are
// raced in that dependency's own tests and in the end-to-end suite's
// concurrent flows, which make test runs under the detector too.
//
// It prints the whole list or nothing: any error exits non-zero, so a
// caller never runs a partial list.
//
//	go run ./scripts/testplan race|plain [packages]
package main

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "race" && os.Args[1] != "plain") {
		fmt.Fprintln(os.Stderr, "usage: testplan race|plain [packages]")
		os.Exit(2)
	}
	patterns := os.Args[2:]
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	pkgs, err := list(patterns)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testplan:", err)
		os.Exit(1)
	}
	var out strings.Builder
	for _, p := range pkgs {
		if len(p.TestGoFiles)+len(p.XTestGoFiles) == 0 {
			continue // nothing to test
		}
		conc, err := concurrent(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testplan:", err)
			os.Exit(1)
		}
		if conc == (os.Args[1] == "race") {
			out.WriteString(p.ImportPath + "\n")
		}
	}
	fmt.Print(out.String())
}

type pkg struct {
	ImportPath, Dir                    string
	GoFiles, TestGoFiles, XTestGoFiles []string
}

func list(patterns []string) ([]pkg, error) {
	goCmd := os.Getenv("GO") // make test's $(GO)
	if goCmd == "" {
		goCmd = "go"
	}
	out, err := exec.Command(goCmd, append([]string{"list", "-json"}, patterns...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			return pkgs, nil
		} else if err != nil {
			return nil, err
		}
		pkgs = append(pkgs, p)
	}
}

// concurrent reports whether any of p's files, tests included, can run
// goroutines.
func concurrent(p pkg) (bool, error) {
	fset := token.NewFileSet()
	for _, name := range append(append(p.GoFiles, p.TestGoFiles...), p.XTestGoFiles...) {
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			return false, err
		}
		if Concurrent(f) {
			return true, nil
		}
	}
	return false, nil
}

// concurrencyImports are the packages whose use means shared memory or
// goroutines.
var concurrencyImports = map[string]bool{
	"sync": true, "sync/atomic": true, "testing/synctest": true, "golang.org/x/sync/errgroup": true,
}

// Concurrent reports whether f starts goroutines or shares memory between
// them: a go statement, a call of a Go, Parallel or RunParallel method, or
// an import of a concurrency package.
func Concurrent(f *ast.File) bool {
	for _, imp := range f.Imports {
		if path, _ := strconv.Unquote(imp.Path.Value); concurrencyImports[path] {
			return true
		}
	}
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			found = true
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
				switch sel.Sel.Name {
				case "Go", "Parallel", "RunParallel":
					found = true
				}
			}
		}
		return !found
	})
	return found
}
