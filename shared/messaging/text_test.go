package messaging

import (
	"strings"
	"testing"
	"time"
)

// TestKeywordOf: the whole message is the keyword, in any case, width or
// with format characters inside; an opt-out also with trailing
// punctuation. A keyword inside a sentence is not one.
func TestKeywordOf(t *testing.T) {
	for _, tt := range []struct{ body, kind, keyword string }{
		{" stop ", OptOut, "STOP"},
		{"STOP please", NotKeyword, ""},
		{"unstop", OptIn, "UNSTOP"},
		{"YES", OptIn, "YES"},
		{"revoke", OptOut, "REVOKE"},
		{"OptOut", OptOut, "OPTOUT"},
		{"stopall", OptOut, "STOPALL"},
		{"Unsubscribe\n", OptOut, "UNSUBSCRIBE"},
		{"cancel", OptOut, "CANCEL"},
		{"end", OptOut, "END"},
		{"quit", OptOut, "QUIT"},
		{"start", OptIn, "START"},
		{"help", Help, "HELP"},
		{"info", Help, "INFO"},
		{"yes!", NotKeyword, ""},
		{"", NotKeyword, ""},
		{"STOP.", OptOut, "STOP"},
		{"Stop!", OptOut, "STOP"},
		{"stop !!", OptOut, "STOP"},
		{"\tStop?\r\n", OptOut, "STOP"},
		{"ＳＴＯＰ", OptOut, "STOP"},
		{"ｓｔｏｐ！", OptOut, "STOP"},
		{"S\u200bTOP", OptOut, "STOP"},
		{"\ufeffSTOP\u200d", OptOut, "STOP"},
		{"\u202eSTOP", OptOut, "STOP"},
		{"opt out", OptOut, "OPT OUT"},
		{"Opt-Out", OptOut, "OPT-OUT"},
		{"opt   out.", OptOut, "OPT OUT"},
		{"UNSUBSCRIBE!", OptOut, "UNSUBSCRIBE"},
		{"ＳＴＡＲＴ", OptIn, "START"},
		{"St\u200bart", OptIn, "START"},
		{"start!", NotKeyword, ""},
		{"help?", NotKeyword, ""},
		{"stop by tomorrow?", NotKeyword, ""},
		{"Don't stop", NotKeyword, ""},
		{"STOPPING", NotKeyword, ""},
		{"opt outside", NotKeyword, ""},
		{"opt in", NotKeyword, ""},
		{".STOP", NotKeyword, ""},
		{"!!!", NotKeyword, ""},
		{"\u200b", NotKeyword, ""},
	} {
		kind, kw := KeywordOf(tt.body)
		if kind != tt.kind || kw != tt.keyword {
			t.Errorf("KeywordOf(%q) = %q, %q; want %q, %q", tt.body, kind, kw, tt.kind, tt.keyword)
		}
	}
}

// TestSegmentsOf pins the GSM-7 and UCS-2 boundaries carriers bill by.
func TestSegmentsOf(t *testing.T) {
	for _, tt := range []struct {
		name string
		body string
		want Segments
	}{
		{"empty", "", Segments{GSM7, 0, 0}},
		{"160 GSM-7 fit one", strings.Repeat("a", 160), Segments{GSM7, 160, 1}},
		{"161 need two", strings.Repeat("a", 161), Segments{GSM7, 161, 2}},
		{"306 fill two parts of 153", strings.Repeat("a", 306), Segments{GSM7, 306, 2}},
		{"307 need three", strings.Repeat("a", 307), Segments{GSM7, 307, 3}},
		{"extension characters count twice", strings.Repeat("€", 80), Segments{GSM7, 160, 1}},
		{"an escape pair is never split", strings.Repeat("a", 152) + "€" + strings.Repeat("a", 10), Segments{GSM7, 164, 2}},
		{"one emoji makes UCS-2", "Hi 👋", Segments{UCS2, 5, 1}},
		{"70 UCS-2 fit one", strings.Repeat("ж", 70), Segments{UCS2, 70, 1}},
		{"71 UCS-2 need two", strings.Repeat("ж", 71), Segments{UCS2, 71, 2}},
		{"surrogate pairs stay whole", strings.Repeat("ж", 66) + "👋" + "ж", Segments{UCS2, 69, 1}},
		{"134 UCS-2 fill two parts of 67", strings.Repeat("ж", 134), Segments{UCS2, 134, 2}},
		{"surrogate pair crossing a part", strings.Repeat("ж", 66) + "👋" + strings.Repeat("ж", 10), Segments{UCS2, 78, 2}},
	} {
		if got := SegmentsOf(tt.body); got != tt.want {
			t.Errorf("%s: SegmentsOf = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestPrefixed(t *testing.T) {
	for _, tt := range []struct{ sender, body, want string }{
		{"Acme Law", "Your documents are ready.", "Acme Law: Your documents are ready."},
		{"Acme Law", "Acme Law: already prefixed", "Acme Law: already prefixed"},
		{"Acme Law", "acme law: case differs", "acme law: case differs"},
		{"Acme Law", "  padded  ", "Acme Law: padded"},
		{"", "no sender", "no sender"},
		{"Ünïcode", "ünïcode: kept once", "ünïcode: kept once"},
	} {
		if got := Prefixed(tt.sender, tt.body); got != tt.want {
			t.Errorf("Prefixed(%q, %q) = %q, want %q", tt.sender, tt.body, got, tt.want)
		}
	}
}

// TestQuietHours: quiet hours span midnight, and a reminder due inside
// them goes out half an hour before they begin, the evening before.
func TestQuietHours(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	q := quiet{loc: ny, start: "21:00", end: "08:00"}
	at := func(day, hm string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hm, ny)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, tt := range []struct {
		now   time.Time
		quiet bool
	}{
		{at("2026-11-23", "20:59"), false},
		{at("2026-11-23", "21:00"), true},
		{at("2026-11-24", "03:00"), true},
		{at("2026-11-24", "07:59"), true},
		{at("2026-11-24", "08:00"), false},
	} {
		if got := q.in(tt.now); got != tt.quiet {
			t.Errorf("in(%s) = %v", tt.now, got)
		}
	}
	for _, tt := range []struct{ due, want time.Time }{
		{at("2026-11-24", "10:00"), at("2026-11-24", "10:00")},
		{at("2026-11-24", "06:30"), at("2026-11-23", "20:30")},
		{at("2026-11-23", "22:00"), at("2026-11-23", "20:30")},
	} {
		if got := q.sendAt(tt.due); !got.Equal(tt.want) {
			t.Errorf("sendAt(%s) = %s, want %s", tt.due, got, tt.want)
		}
	}
	if got, want := q.endAfter(at("2026-11-23", "23:00")), at("2026-11-24", "08:00"); !got.Equal(want) {
		t.Errorf("endAfter = %s, want %s", got, want)
	}
	if off := (quiet{loc: ny, start: "00:00", end: "00:00"}); off.in(at("2026-11-24", "03:00")) {
		t.Error("equal start and end must turn quiet hours off")
	}
}

// TestUnsubscribeToken: a token opens only as issued, under its key.
func TestUnsubscribeToken(t *testing.T) {
	s := &Service{LinkKey: []byte("0123456789abcdef0123456789abcdef")}
	tok := s.unsubscribeToken("org1", "ann@example.com")
	if org, addr, ok := s.openUnsubscribe(tok); !ok || org != "org1" || addr != "ann@example.com" {
		t.Fatalf("open = %q %q %v", org, addr, ok)
	}
	parts := strings.Split(tok, ".")
	other := &Service{LinkKey: []byte("another key of thirty-two bytes!")}
	for name, bad := range map[string]string{
		"other key":     other.unsubscribeToken("org1", "ann@example.com"),
		"swapped org":   s.unsubscribeToken("org2", "ann@example.com")[:len(parts[0])] + "." + parts[1] + "." + parts[2],
		"missing part":  parts[0] + "." + parts[1],
		"empty":         "",
		"bad signature": parts[0] + "." + parts[1] + ".AAAA",
	} {
		if _, _, ok := s.openUnsubscribe(bad); ok {
			t.Errorf("%s: token opened", name)
		}
	}
}
