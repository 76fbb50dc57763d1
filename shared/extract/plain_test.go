package extract

import (
	"reflect"
	"testing"
)

func TestTXT(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, contentType, in string
		want                  []string
	}{
		{"form feeds split pages", "text/plain", "one\n\fTWO\r\n\f\fthree\f\n", []string{"one", "TWO", "", "three"}},
		{"no form feed", "text/plain", "  a  b  \r\n\r\n\r\n c ", []string{"a b\n\nc"}},
		{"empty", "text/plain", "", []string{""}},
		{"utf-8 BOM stripped", "text/plain", "\xef\xbb\xbfcafé", []string{"café"}},
		{"utf-8 BOM with bad bytes", "text/plain", "\xef\xbb\xbfa\xffb", []string{"a\ufffdb"}},
		{"utf-16le BOM", "text/plain", "\xff\xfec\x00a\x00f\x00\xe9\x00\x0c\x00x\x00", []string{"café", "x"}},
		{"utf-16be BOM", "text/plain", "\xfe\xff\x00c\x00a\x00f\x00\xe9", []string{"café"}},
		{"invalid utf-8 is windows-1252", "text/plain", "caf\xe9 \x93quoted\x94 \x80", []string{"café “quoted” €"}},
		{"charset parameter", "text/plain; charset=ISO-8859-1", "caf\xe9", []string{"café"}},
		{"unknown charset parameter ignored", "text/plain; charset=klingon", "café", []string{"café"}},
		{"control characters dropped", "text/plain", "a\x00b\x1b[0mc", []string{"ab[0mc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, err := extractBytes(t, tt.contentType, []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.Pages, tt.want) {
				t.Errorf("got %q, want %q", d.Pages, tt.want)
			}
		})
	}
}
