package docx

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/matterly/matterly/shared/extract"
)

// TestRoundTrip reads what Write made with the DOCX extractor: the same
// lines come back, escaped characters and tabs intact.
func TestRoundTrip(t *testing.T) {
	for _, text := range []string{
		"Dear Ms. Álvarez,\n\nRe: <Lease> & \"deposit\"\n\tAmount:\t$1,200\n\nSincerely,\n[ATTORNEY]",
		"",
		"one line",
		"bell\x07 removed",
	} {
		b, err := Write(text)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := extract.Extract(context.Background(), ContentType, bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		want := strings.TrimSpace(strings.ReplaceAll(text, "\x07", ""))
		got := strings.TrimSpace(doc.Text())
		if norm(got) != norm(want) {
			t.Errorf("round trip of %q = %q", text, got)
		}
	}
}

// norm compares text as the extractor normalizes it: runs of spaces and
// tabs collapse, blank lines are kept once.
func norm(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}
