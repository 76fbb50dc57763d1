package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// function is one Lambda to measure: the package go build compiles, and the
// directory it is compiled from.
type function struct {
	Name string
	Dir  string // working directory of go build
	Pkg  string // package argument, e.g. ./functions/crm
}

// artifacts are the results of building a function.
type artifacts struct {
	Bootstrap  string // the host binary the harness runs
	HostBytes  int64
	Arm64Bytes int64 // the binary Lambda runs (linux/arm64)
	ZipBytes   int64 // the arm64 binary zipped as the deployment package
}

// moduleRoot returns the directory of the main module around the working directory.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside a Go module: run from the repository (or use -pkgdir)")
	}
	return filepath.Dir(gomod), nil
}

// discoverFunctions lists the directories under root/functions that hold a main.go.
func discoverFunctions(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, fmt.Errorf("list functions: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, "functions", e.Name(), "main.go")); err == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// buildFunction builds fn for the host (to run it) and for linux/arm64 (to size
// the deployment package) into outDir, with the flags of the real build.
func buildFunction(ctx context.Context, fn function, outDir string) (*artifacts, error) {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	a := &artifacts{Bootstrap: filepath.Join(outDir, "bootstrap")}
	arm64 := filepath.Join(outDir, "bootstrap-arm64")
	var err error
	if a.HostBytes, err = goBuild(ctx, fn, a.Bootstrap, runtime.GOOS, runtime.GOARCH); err != nil {
		return nil, err
	}
	if a.Arm64Bytes, err = goBuild(ctx, fn, arm64, "linux", "arm64"); err != nil {
		return nil, err
	}
	if a.ZipBytes, err = zippedSize(arm64); err != nil {
		return nil, err
	}
	return a, nil
}

// lambdaBuildFlags are the project's Lambda build flags.
var lambdaBuildFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w"}

// goBuild runs the project's Lambda build command and returns the binary's size.
func goBuild(ctx context.Context, fn function, out, goos, goarch string) (int64, error) {
	cmd := exec.CommandContext(ctx, "go", append(append([]string{"build"}, lambdaBuildFlags...), "-o", out, fn.Pkg)...)
	cmd.Dir = fn.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	if output, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go build %s for %s/%s: %v\n%s", fn.Pkg, goos, goarch, err, bytes.TrimSpace(output))
	}
	st, err := os.Stat(out)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// zippedSize is the size of a deployment zip holding path as "bootstrap".
func zippedSize(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n countingWriter
	zw := zip.NewWriter(&n)
	hdr := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	hdr.SetMode(0o755)
	w, err := zw.CreateHeader(hdr)
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(w, f); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return int64(n), nil
}

// countingWriter counts the bytes written to it and discards them.
type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}
