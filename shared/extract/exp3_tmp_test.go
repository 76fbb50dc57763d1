package extract

import (
	"bytes"
	"context"
	"os"
	"testing"
)

func BenchmarkExpContract(b *testing.B) {
	data, _ := os.ReadFile("testdata/contract.pdf")
	Warm(context.Background())
	b.ResetTimer()
	for b.Loop() {
		if _, err := Extract(context.Background(), "application/pdf", bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}
