package trust

import (
	"math"
	"testing"
)

func TestDecimal(t *testing.T) {
	tests := []struct {
		amount int64
		code   string
		want   string
	}{
		{0, "usd", "0.00"},
		{5, "usd", "0.05"},
		{-5, "usd", "-0.05"},
		{123456, "usd", "1234.56"},
		{MaxAmount, "usd", "10000000000.00"},
		{-MaxAmount, "eur", "-10000000000.00"},
		{math.MaxInt64, "usd", "92233720368547758.07"},
		{math.MinInt64, "usd", "-92233720368547758.08"},
		{1500, "jpy", "1500"},
		{1500, "kwd", "1.500"},
		{7, "kwd", "0.007"},
	}
	for _, tt := range tests {
		if got := Decimal(tt.amount, tt.code); got != tt.want {
			t.Errorf("Decimal(%d, %s) = %q, want %q", tt.amount, tt.code, got, tt.want)
		}
	}
	if got := Money(-120000, "usd"); got != "-1200.00 USD" {
		t.Errorf("Money = %q", got)
	}
}

func TestCurrencyCode(t *testing.T) {
	for in, want := range map[string]string{"USD": "usd", "usd": "usd", "Eur": "eur", "jpy": "jpy", "XXQ": "", "us": "", "dollars": "", "": ""} {
		got, ok := currencyCode(in)
		if ok != (want != "") || got != want {
			t.Errorf("currencyCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
