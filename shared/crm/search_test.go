package crm

import "testing"

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
