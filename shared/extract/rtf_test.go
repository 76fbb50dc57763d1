package extract

import (
	"reflect"
	"strings"
	"testing"
)

// TestRTFMemo reads the handwritten fixture, which LibreOffice shows with
// the same text.
func TestRTFMemo(t *testing.T) {
	t.Parallel()
	d, err := extractBytes(t, "text/rtf", fixture(t, "memo.rtf"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Client Memo\n" +
			"To: Zoë Kováč, Renée Dupont and Björn Østergaard\n" +
			"From: Gabriel Okafor\n" +
			"Harbor & Finch LLP\n" +
			"Re:\tLease dispute – Meridian Holdings\n" +
			"\n" +
			"The landlord’s notice claims “material default” and asks for € 3,150 in arrears by 30 April. " +
			"We consider the claim time-barred under § 12 of the lease.\n" +
			`Escaped braces {like these} and a back\slash stay as text.`,
		"Second page: €100 retainer, —em dash, smile 😀 done.\n" +
			"Nested italic bold group closes cleanly.\n" +
			"harbor.example\n" +
			"Last line on the second page: walrus zeppelin.",
	}
	if !reflect.DeepEqual(d.Pages, want) {
		t.Errorf("got\n%q\nwant\n%q", d.Pages, want)
	}
	for _, hidden := range []string{"Times", "Secret", "Hidden Author", "Header", "Footer", "generator", "HYPERLINK", "ignored", "89504e47"} {
		if strings.Contains(d.Text(), hidden) {
			t.Errorf("text shows %q", hidden)
		}
	}
}

func TestRTF(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     []string
	}{
		{"paragraphs and lines", `{\rtf1 one\par two\line three\par}`, []string{"one\ntwo\nthree"}},
		{"control word delimiters", `{\rtf1\b bold\b0  plain\i-1 x\fs24{}y}`, []string{"bold plainxy"}},
		{"hex in cp1252", `{\rtf1\ansi caf\'e9 \'93q\'94 \'80\'99}`, []string{"café “q” €™"}},
		{"hex in cp1251", `{\rtf1\ansi\ansicpg1251 \'cf\'f0\'e8\'e2\'e5\'f2}`, []string{"Привет"}},
		{"unknown code page stays cp1252", `{\rtf1\ansi\ansicpg932 \'e9}`, []string{"é"}},
		{"mac", `{\rtf1\mac \'8e}`, []string{"é"}},
		{"unicode, uc1 default", `{\rtf1 \u233?t\u233?}`, []string{"été"}},
		{"uc0", `{\rtf1\uc0 \u233 t\u233}`, []string{"été"}},
		{"uc2 with hex fallback", `{\rtf1\uc2 \u8212\'97\'97x}`, []string{"—x"}},
		{"uc scoped to its group", `{\rtf1 {\uc2 \u233 ab}\u233 cd}`, []string{"ééd"}},
		{"fallback ends with the group", `{\rtf1\uc3 {\u233}abc}`, []string{"éabc"}},
		{"negative unicode", `{\rtf1 \u-4064?}`, []string{"\uf020"}},
		{"surrogate pair", `{\rtf1 a\u-10179?\u-8704?b}`, []string{"a😀b"}},
		{"lone high surrogate dropped", `{\rtf1 a\u-10179?b}`, []string{"ab"}},
		{"page", `{\rtf1 one\par\page two\page}`, []string{"one", "two"}},
		{"pagebb", `{\rtf1\pard\pagebb one\par\pard\pagebb two\par\pard three}`, []string{"one", "two\nthree"}},
		{"page in a skipped group", `{\rtf1 one{\header \page x}two}`, []string{"onetwo"}},
		{"symbols", `{\rtf1 a\~b\_c\-d\\e\{f\}}`, []string{"a b-cd\\e{f}"}},
		{"named characters", `{\rtf1 \lquote a\rquote  \ldblquote b\rdblquote  \bullet\emdash\endash}`, []string{"‘a’ “b” •—–"}},
		{"tables", `{\rtf1 \trowd\cellx100\cellx200 A\cell B\cell\row C\cell D\cell\row}`, []string{"A\tB\nC\tD"}},
		{"starred destinations skipped", `{\rtf1 a{\*\bkmkstart x}b{\*\unknown {nested} text}c}`, []string{"abc"}},
		{"skipped destinations", `{\rtf1{\fonttbl{\f0 Arial;}}{\colortbl;\red0;}{\stylesheet{\s0 Normal;}}{\info{\title T}}{\pict ff00}{\footnote note}body}`, []string{"body"}},
		{"fields show their result", `{\rtf1 see {\field{\*\fldinst HYPERLINK "x"}{\fldrslt here}}.}`, []string{"see here."}},
		{"hidden text", `{\rtf1 a{\v hidden}b\v c\v0 d\v e\plain f}`, []string{"abdf"}},
		{"binary data", "{\\rtf1 a{\\pict\\bin5 }}}}}b}c}", []string{"ac"}},
		{"source line breaks are not text", "{\\rtf1 one\r\ntwo\\\npar}", []string{"onetwo\npar"}},
		{"unbalanced: missing braces", `{\rtf1 {a{b`, []string{"ab"}},
		{"unbalanced: extra brace ends", `{\rtf1 a}b}`, []string{"a"}},
		{"leading whitespace", "\r\n {\\rtf1 x}", []string{"x"}},
		{"bad hex ignored", `{\rtf1 a\'zzb\'4}`, []string{"azzb4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := extractBytes(t, "application/rtf", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.Pages, tt.want) {
				t.Errorf("got %q, want %q", d.Pages, tt.want)
			}
		})
	}
}

func TestBadRTF(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"not rtf":     "hello",
		"empty":       "",
		"docx":        "PK\x03\x04",
		"deep nested": `{\rtf1 ` + strings.Repeat("{", maxRTFDepth+1) + "x",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := extractBytes(t, "application/rtf", []byte(in))
			wantInvalid(t, err, "could not be read")
		})
	}
}
