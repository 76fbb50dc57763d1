package trust

import (
	"strconv"
	"strings"

	"golang.org/x/text/currency"
)

// currencyCode normalizes an ISO 4217 code to the lower case Stripe uses;
// ok is false for anything that is not a current ISO 4217 currency.
func currencyCode(s string) (string, bool) {
	if len(s) != 3 {
		return "", false
	}
	if _, err := currency.ParseISO(s); err != nil {
		return "", false
	}
	return strings.ToLower(s), true
}

// decimals is how many minor-unit digits a currency has (2 for USD, 0 for
// JPY, 3 for KWD), from CLDR's standard rounding.
func decimals(code string) int {
	u, err := currency.ParseISO(code)
	if err != nil {
		return 2
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale
}

// Decimal writes minor units as a plain decimal string ("-1234.05" for
// -123405 USD cents), with integer arithmetic only: money never passes
// through a float.
func Decimal(amount int64, code string) string {
	d := decimals(code)
	neg := amount < 0
	// The magnitude of math.MinInt64 does not fit an int64; as uint64 it does.
	mag := uint64(amount)
	if neg {
		mag = -mag
	}
	digits := strconv.FormatUint(mag, 10)
	if d > 0 {
		if len(digits) <= d {
			digits = strings.Repeat("0", d-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-d] + "." + digits[len(digits)-d:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// Money is an amount for people to read: "1234.05 USD".
func Money(amount int64, code string) string {
	return Decimal(amount, code) + " " + strings.ToUpper(code)
}

// ValidCurrency reports whether code is a current ISO 4217 currency in
// Stripe's lower case.
func ValidCurrency(code string) bool {
	got, ok := currencyCode(code)
	return ok && got == code
}
