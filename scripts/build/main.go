// Command build compiles every function under functions/ into an arm64
// Lambda bootstrap and zips it as build/<name>.zip (make build). The flags
// are the fixed ones of the runtime decision: provided.al2023 on arm64,
// no cgo, lambda.norpc, trimmed paths, stripped symbols.
package main

import (
	"archive/zip"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	if err := run(); err != nil {
		slog.New(slog.NewTextHandler(os.Stderr, nil)).Error("build failed", "err", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("out", "build", "output directory")
	only := flag.String("functions", "", "comma-separated function names (default: all under functions/)")
	flag.Parse()
	names, err := functionNames(*only)
	if err != nil {
		return err
	}
	for _, name := range names {
		dir := filepath.Join(*out, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		bin := filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", bin, "./functions/"+name)
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", name, err)
		}
		zipPath := filepath.Join(*out, name+".zip")
		if err := zipBootstrap(bin, zipPath); err != nil {
			return fmt.Errorf("zip %s: %w", name, err)
		}
		st, _ := os.Stat(bin)
		zst, _ := os.Stat(zipPath)
		fmt.Printf("%-12s bootstrap %6.2f MB  zip %6.2f MB  %s\n", name, mb(st.Size()), mb(zst.Size()), zipPath)
	}
	return nil
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

func functionNames(only string) ([]string, error) {
	if only != "" {
		return strings.Split(only, ","), nil
	}
	mains, err := filepath.Glob("functions/*/main.go")
	if err != nil || len(mains) == 0 {
		return nil, fmt.Errorf("no functions/*/main.go found (run from the repo root)")
	}
	names := make([]string, len(mains))
	for i, m := range mains {
		names[i] = filepath.Base(filepath.Dir(m))
	}
	return names, nil
}

// zipBootstrap writes a Lambda deployment package: one executable named
// bootstrap at the root. The mode bits must say executable or Lambda cannot
// start it.
func zipBootstrap(bin, zipPath string) error {
	src, err := os.Open(bin)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp := zipPath + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = io.Copy(w, src)
	}
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, zipPath)
}
