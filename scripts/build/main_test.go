package main

import (
	"archive/zip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestZipBootstrap checks the deployment package Lambda expects: a single
// executable named bootstrap at the root of the zip.
func TestZipBootstrap(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	if err := os.WriteFile(bin, []byte("\x7fELF fake binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "fn.zip")
	if err := zipBootstrap(bin, out); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		t.Fatalf("zip holds %d files, first %q; want only bootstrap", len(zr.File), zr.File[0].Name)
	}
	if mode := zr.File[0].Mode(); mode.Perm()&0o111 == 0 {
		t.Errorf("bootstrap mode %v is not executable", mode)
	}
	f, _ := zr.File[0].Open()
	got, _ := io.ReadAll(f)
	f.Close()
	if string(got) != "\x7fELF fake binary" {
		t.Errorf("content %q", got)
	}
	if _, err := os.Stat(out + ".tmp"); !os.IsNotExist(err) {
		t.Error("temporary file left behind")
	}
}
