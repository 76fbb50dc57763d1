package crm

import (
	"slices"
	"testing"
)

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Smith", "smith"},
		{"  Zoë   O’Brien ", "zoe o'brien"},
		{"ÉLODIE Müller", "elodie muller"},
		{"Straße & Søn", "strasse & son"},
		{"Łukasz Wałęsa", "lukasz walesa"},
		{"Ｆｕｌｌｗｉｄｔｈ", "fullwidth"},
		{"İstanbul Ltd", "istanbul ltd"},
		{"\tA\nB", "a b"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := fold(tt.in); got != tt.want {
			t.Errorf("fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNameStarts(t *testing.T) {
	tests := []struct {
		name string
		want []string
	}{
		{"john smith", []string{"john smith", "smith"}},
		{"mary-jane o'brien", []string{"mary-jane o'brien", "jane o'brien", "o'brien"}},
		{"smith & sons llp", []string{"smith & sons llp", "sons llp", "llp"}},
		{"a b c d e f g h i j", []string{"a b c d e f g h i j", "b c d e f g h i j", "c d e f g h i j", "d e f g h i j",
			"e f g h i j", "f g h i j", "g h i j", "h i j"}},
		{"", nil},
	}
	for _, tt := range tests {
		if got := nameStarts(tt.name); !slices.Equal(got, tt.want) {
			t.Errorf("nameStarts(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestFirstMatch: a name that matches at two words is listed at one entry.
func TestFirstMatch(t *testing.T) {
	tests := []struct {
		folded, start, q string
		want             bool
	}{
		{"anna anderson", "anderson", "an", true},       // "anderson" sorts first
		{"anna anderson", "anna anderson", "an", false}, // listed at "anderson" already
		{"anna anderson", "anna anderson", "ann", true}, // only "anna ..." matches "ann"
		{"john smith", "smith", "smith", true},
	}
	for _, tt := range tests {
		if got := firstMatch(tt.folded, tt.start, tt.q); got != tt.want {
			t.Errorf("firstMatch(%q, %q, %q) = %v, want %v", tt.folded, tt.start, tt.q, got, tt.want)
		}
	}
}
