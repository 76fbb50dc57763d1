package extract

import (
	"reflect"
	"strings"
	"testing"
)

func TestHTMLNotice(t *testing.T) {
	t.Parallel()
	d, err := extractBytes(t, "text/html", fixture(t, "notice.html"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Notice of Hearing\n\n" +
		"To: Meridian Holdings, Inc. & all interested parties.\n\n" +
		"The hearing on the motion to compel arbitration is set for June 9, 2025 at 10:30 a.m. in Courtroom 4B of the Harbor County Courthouse.\n\n" +
		"Parties must file any written opposition — with supporting declarations – no later than nine court days before the hearing. Late filings <will not> be considered.\n\n" +
		"Documents to bring\n\n" +
		"The signed lease and every amendment\n" +
		"Proof of service of the notice of default\n" +
		"The trust account ledger for the retainer of €4,200\n\n" +
		"Schedule\n\n" +
		"Date\tEvent\n" +
		"May 12\tOpposition due\n" +
		"May 26\tReply due\n" +
		"June 9\tHearing\n\n" +
		"Questions? Contact the clerk’s office at clerk@harbor.example.\n" +
		"Please quote case number HC-2025-0412.\n\n" +
		"Signed,\n" +
		"Clerk of the Court, Ōsaka Branch — Zoë Müller"}
	if !reflect.DeepEqual(d.Pages, want) {
		t.Errorf("got\n%q\nwant\n%q", d.Pages, want)
	}
	for _, hidden := range []string{"Head title", "must not appear", "scriptWord", "hidden-style-word", "never", "Enable scripts"} {
		if strings.Contains(d.Text(), hidden) {
			t.Errorf("text shows %q", hidden)
		}
	}
}

func TestHTML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, contentType, in, want string
	}{
		{"entities", "text/html", `<p>&lt;a&gt; &amp; &quot;b&quot; &eacute;&#233;&#xE9; &nbsp;x&copy;&unknown;</p>`, `<a> & "b" ééé x©&unknown;`},
		{"script with tags inside", "text/html", `a<script>document.write("<p>no</p>")</script>b<style>p{}</style>c`, "abc"},
		{"source lines are spaces", "text/html", "<p>one\ntwo\r\n\tthree</p>", "one two three"},
		{"pre keeps lines", "text/html", "<p>x</p><pre>a\n  b\n\tc  d</pre>", "x\n\na\nb\nc d"},
		{"br and blocks", "text/html", "a<br>b<br/>c<div>d</div>e<h2>f</h2>g", "a\nb\nc\nd\ne\n\nf\n\ng"},
		{"inline elements run on", "text/html", "<p>a<b>b</b><i> c</i> <a href=x>d</a></p>", "ab c d"},
		{"missing end tags", "text/html", "<p>one<p>two<li>three<li>four", "one\n\ntwo\nthree\nfour"},
		{"no head end tag", "text/html", "<html><head><title>T</title><p>body text", "body text"},
		{"nested skip", "text/html", "<template><template>x</template>y</template>z", "z"},
		{"comments", "text/html", "a<!-- hidden -->b<!--[if IE]>c<![endif]-->d", "abd"},
		{"windows-1252 by meta", "text/html", "<meta charset=\"windows-1252\"><p>caf\xe9 \x93q\x94</p>", "café “q”"},
		{"latin-1 by http-equiv", "text/html", "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=ISO-8859-1\"><p>caf\xe9</p>", "café"},
		{"charset parameter first", "text/html; charset=windows-1252", "<meta charset=\"utf-8\"><p>caf\xe9</p>", "café"},
		{"meta utf-16 read as utf-8", "text/html", "<meta charset=\"utf-16\"><p>café</p>", "café"},
		{"utf-8 after 1 KB of ascii", "text/html", "<p>" + strings.Repeat("a ", 700) + "café</p>", strings.TrimSpace(strings.Repeat("a ", 700)) + " café"},
		{"invalid utf-8 without meta", "text/html", "<p>caf\xe9</p>", "café"},
		{"utf-8 BOM", "text/html", "\xef\xbb\xbf<p>x</p>", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := extractBytes(t, tt.contentType, []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.Pages, []string{tt.want}) {
				t.Errorf("got %q, want %q", d.Pages, tt.want)
			}
		})
	}
}
