package check

import (
	"strings"
	"testing"

	"github.com/matterly/matterly/shared/fault"
)

func TestText(t *testing.T) {
	tests := []struct {
		name      string
		v         string
		required  bool
		multiline bool
		wantErr   string
	}{
		{"fine", "Zoë", true, false, ""},
		{"required and blank", "   ", true, false, "is required"},
		{"optional and blank", "", false, false, ""},
		{"too long", strings.Repeat("é", 11), false, false, "at most 10"},
		{"ten accented letters fit", strings.Repeat("é", 10), false, false, ""},
		{"newline in a line", "a\nb", false, false, "control"},
		{"newline in a body", "a\nb\tc", false, true, ""},
		{"NUL in a body", "a\x00b", false, true, "control"},
		{"bidi override is not a control", "a\u202eb", false, false, ""},
	}
	for _, tt := range tests {
		var c fault.Checker
		Text(&c, "f", tt.v, tt.required, 10, tt.multiline)
		err := c.Err()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: unexpected %v", tt.name, fault.As(err).Fields)
		case tt.wantErr != "" && (err == nil || !strings.Contains(fault.As(err).Fields[0].Message, tt.wantErr)):
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestRules(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
		want bool
	}{
		{"ulid", ID("01M84D9M1006VS95G8TKBD7BVN"), true},
		{"not a ulid", ID("../../etc"), false},
		{"overlong ulid", ID("01M84D9M1006VS95G8TKBD7BVNX"), false},
		{"e164", Phone("+14155550123"), true},
		{"local number", Phone("4155550123"), false},
		{"leading zero", Phone("+04155550123"), false},
		{"zone", Timezone("America/New_York"), true},
		{"Local is not a zone", Timezone("Local"), false},
		{"unknown zone", Timezone("Mars/Olympus"), false},
		{"date", Date("2028-02-29"), true},
		{"no such date", Date("2027-02-29"), false},
		{"https", HTTPSURL("https://meet.example.com/x?y=1"), true},
		{"http", HTTPSURL("http://meet.example.com"), false},
		{"script", HTTPSURL("javascript:alert(1)"), false},
		{"credentials in URL", HTTPSURL("https://user:pw@example.com"), false},
	}
	for _, tt := range tests {
		if tt.ok != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.ok, tt.want)
		}
	}
	for in, want := range map[string]string{" Zoe@Example.COM ": "zoe@example.com"} {
		if got, ok := Email(in); !ok || got != want {
			t.Errorf("Email(%q) = %q, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"Zoe <zoe@example.com>", "no-at-sign", "a@b@c"} {
		if _, ok := Email(bad); ok {
			t.Errorf("Email(%q) accepted", bad)
		}
	}
}

// TestFormats: the byte-class checks that replaced regular expressions
// accept and refuse what those did (^\+[1-9][0-9]{6,14}$, ^[A-Z]{2}$,
// ^([01][0-9]|2[0-3]):[0-5][0-9]$, ^[a-zA-Z0-9_-]{1,64}$).
func TestFormats(t *testing.T) {
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"phone", Phone("+14155550123"), true},
		{"phone shortest", Phone("+1234567"), true},
		{"phone longest", Phone("+123456789012345"), true},
		{"phone too short", Phone("+123456"), false},
		{"phone too long", Phone("+1234567890123456"), false},
		{"phone leading zero", Phone("+04155550123"), false},
		{"phone no plus", Phone("14155550123"), false},
		{"phone letter", Phone("+1415555012a"), false},
		{"phone plus only", Phone("+"), false},
		{"phone empty", Phone(""), false},
		{"phone unicode digit", Phone("+1415555012٣"), false},
		{"country", Bytes("US", 2, 2, Upper), true},
		{"country lower", Bytes("us", 2, 2, Upper), false},
		{"country long", Bytes("USA", 2, 2, Upper), false},
		{"word", Bytes("summary_v-2", 1, 64, Word), true},
		{"word space", Bytes("summary v2", 1, 64, Word), false},
		{"word empty", Bytes("", 1, 64, Word), false},
		{"clock", ClockTime("23:59"), true},
		{"clock midnight", ClockTime("00:00"), true},
		{"clock 19h", ClockTime("19:30"), true},
		{"clock 24h", ClockTime("24:00"), false},
		{"clock 60m", ClockTime("12:60"), false},
		{"clock short", ClockTime("9:30"), false},
		{"clock sign", ClockTime("+1:30"), false},
		{"clock separator", ClockTime("12.30"), false},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}
