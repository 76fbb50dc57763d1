package extract

import (
	"reflect"
	"testing"
)

func TestWriterNormalises(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"spaces collapse", "a   b \u00a0\u2003 c", "a b c"},
		{"tab wins over spaces", "a  \t  b", "a\tb"},
		{"lines trimmed", "  a  \n   b  ", "a\nb"},
		{"page trimmed", "\n\n  a\n\n\n", "a"},
		{"CRLF and CR", "a\r\nb\rc\n\rd", "a\nb\nc\n\nd"},
		{"one blank line at most", "a\n\n\n\n\nb", "a\n\nb"},
		{"unicode separators", "a\u2028b\u2029c", "a\nb\n\nc"},
		{"ligatures", "\ufb01nal e\ufb03cient \ufb00 \ufb02 \ufb04", "final efficient ff fl ffl"},
		{"controls dropped", "a\x00b\x07c\x1bd\u0085e\u009f", "abcd\ne"},
		{"invisible dropped", "co\u00adop\u200beration\ufeff", "cooperation"},
		{"joiners kept", "a\u200db", "a\u200db"},
		{"vertical tab", "a\vb", "a\nb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWriter(defaultLimits)
			if err := w.WriteString(tt.in); err != nil {
				t.Fatal(err)
			}
			if got := w.document(true).Pages; !reflect.DeepEqual(got, []string{tt.want}) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWriterPages(t *testing.T) {
	t.Parallel()
	w := newWriter(defaultLimits)
	w.WriteString("one \n")
	w.PageBreak()
	w.PageBreak()
	w.WriteString("  three")
	w.PageBreak()
	w.WriteString(" \n ")
	w.PageBreak()
	if got, want := w.document(false).Pages, []string{"one", "", "three", "", ""}; !reflect.DeepEqual(got, want) {
		t.Errorf("all pages: %q, want %q", got, want)
	}
	// Flowing formats drop the empty pages at the end only.
	if got, want := w.document(true).Pages, []string{"one", "", "three"}; !reflect.DeepEqual(got, want) {
		t.Errorf("trailing dropped: %q, want %q", got, want)
	}
	if got := newWriter(defaultLimits).document(true).Pages; !reflect.DeepEqual(got, []string{""}) {
		t.Errorf("nothing written: %q", got)
	}
}

func TestWriterNewlines(t *testing.T) {
	t.Parallel()
	w := newWriter(defaultLimits)
	w.WriteString("a")
	w.Newline()
	w.Newline()
	w.WriteString("b")
	w.Paragraph()
	w.Newline()
	w.WriteString("c")
	w.Tab()
	w.WriteString("d")
	w.Space()
	w.Space()
	w.WriteString("e")
	w.Tab()
	w.Newline()
	if got := w.document(true).Pages[0]; got != "a\nb\n\nc\td e" {
		t.Errorf("got %q", got)
	}
}

func TestJoinPage(t *testing.T) {
	t.Parallel()
	w := newWriter(defaultLimits)
	for i, s := range []string{"a", "b", "c", "d"} {
		if i > 0 {
			w.PageBreak()
		}
		w.WriteString(s)
	}
	w.joinPage(1) // a|b -> a\nb
	w.joinPage(2) // c|d, the current page -> c\nd
	w.joinPage(0) // no page before the first: nothing
	w.joinPage(9)
	if got, want := w.document(false).Pages, []string{"a\nb", "c\nd"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	w.WriteString("e")
	if got := w.document(false).Pages[1]; got != "c\nde" {
		t.Errorf("writing after a join: %q", got)
	}
}

func TestWriterLimits(t *testing.T) {
	t.Parallel()
	// The limit counts what is kept: "ab\n\ncd" is 6 characters.
	w := newWriter(limits{chars: 6, pages: 2})
	if err := w.WriteString("ab   \n\n\n   cd   \n\n"); err != nil {
		t.Fatalf("6 characters after normalising: %v", err)
	}
	if err := w.WriteString("e"); err == nil {
		t.Fatal("7th character accepted")
	}
	if err := w.PageBreak(); err == nil {
		t.Error("the error does not stick")
	}

	w = newWriter(limits{chars: 100, pages: 2})
	if err := w.PageBreak(); err != nil {
		t.Fatalf("2nd page: %v", err)
	}
	if err := w.PageBreak(); err == nil {
		t.Fatal("3rd page accepted")
	}
	if err := w.WriteString("x"); err == nil {
		t.Error("the error does not stick")
	}
}

func TestThousands(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 2000000: "2,000,000", 12345: "12,345"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
