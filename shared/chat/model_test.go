package chat

import (
	"strings"
	"testing"
	"time"

	"github.com/matterly/matterly/shared/fault"
)

func TestEmojiGraphemeRule(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"👍", true},
		{"❤️", true},       // U+2764 with the emoji presentation selector
		{"👍🏽", true},       // skin tone
		{"👩‍💻", true},      // ZWJ sequence
		{"👨‍👩‍👧‍👦", true},  // family: four people, three ZWJs (25 bytes)
		{"🏳️‍🌈", true},     // rainbow flag
		{"🇺🇸", true},       // regional indicator pair
		{"🏴󠁧󠁢󠁳󠁣󠁴󠁿", true},  // Scotland: a tag sequence (28 bytes)
		{"1️⃣", true},      // keycap
		{"#⃣", true},       // keycap without selector
		{"", false},        // empty
		{"a", false},       // a letter
		{"ab", false},      // text
		{"👍👍", false},      // two clusters
		{"🇺", false},       // half a flag
		{"🇺🇸🇬", false},     // a flag and a half
		{"👍\u0301", false}, // an emoji with a combining mark
		{"e\u0301", false}, // one grapheme, but not an emoji
		{"👍\u200d", false}, // a dangling joiner
		{"\u200d👍", false}, // a leading joiner
		{"🏽", false},       // a lone skin tone
		{"1", false},       // a digit is no keycap
		{"\xff", false},    // invalid UTF-8
		{strings.Repeat("👩‍", 8) + "💻", false}, // a ZWJ run over 32 bytes
		{"👍\x00", false},                       // NUL
	} {
		if got := ValidEmoji(tc.in); got != tc.want {
			t.Errorf("ValidEmoji(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestTextRule(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"plain", "Hello", true},
		{"emoji", "Done 👍🏽", true},
		{"right-to-left", "שלום עולם", true},
		{"arabic with marks", "مَرْحَبًا", true},
		{"combining marks", "Zalgo z\u0301\u0302\u0303", true},
		{"lines and tabs", "a\n\tb\r\nc", true},
		{"bidi override", "\u202eabc", true},
		{"exactly 4000", strings.Repeat("é", 4000), true},
		{"4000 emoji (runes)", strings.Repeat("😀", 4000), true},
		{"4001", strings.Repeat("a", 4001), false},
		{"empty", "", false},
		{"blank", " \n\t ", false},
		{"NUL", "a\x00b", false},
		{"bell", "a\x07b", false},
		{"DEL", "a\x7fb", false},
		{"C1 control", "a\u0085b", false},
		{"invalid UTF-8", "a\xffb", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ck fault.Checker
			checkText(&ck, "text", tc.in)
			if (ck.Err() == nil) != tc.ok {
				t.Errorf("checkText(%q) = %v, want ok %v", tc.in, ck.Err(), tc.ok)
			}
			if err := ck.Err(); err != nil && !fault.Is(err, fault.Invalid) {
				t.Errorf("a refused text is %v, want 422", err)
			}
		})
	}
}

func TestSendInputRule(t *testing.T) {
	s := func(v string) *string { return &v }
	for _, tc := range []struct {
		name string
		in   SendInput
		ok   bool
	}{
		{"text", SendInput{Text: s("hi")}, true},
		{"gif", SendInput{GIF: &GIFRef{ID: "abc123xyz"}}, true},
		{"attachment", SendInput{AttachmentID: "01J0000000000000000000000A"}, true},
		{"nothing", SendInput{}, false},
		{"empty text", SendInput{Text: s("")}, false},
		{"gif id with a URL", SendInput{GIF: &GIFRef{ID: "https://evil.example/x.gif"}}, false},
		{"bad attachment id", SendInput{AttachmentID: "../x"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.in.check(); (err == nil) != tc.ok {
				t.Errorf("check = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestMemberView(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := Message{ID: "m", Text: "secret", GIF: &GIF{ID: "g"}, Deleted: true, DeletedAt: &at, Versions: []Version{{Text: "older", At: at}},
		Reactions: []Reaction{{Emoji: "👍", UserIDs: []string{"u1", "u2"}}, {Emoji: "🎉"}}}
	v := m.forMember()
	if v.Text != "" || v.GIF != nil || v.Versions != nil || len(v.Reactions) != 0 || !v.Deleted {
		t.Errorf("a deleted message shows %+v", v)
	}
	m.Deleted = false
	v = m.forMember()
	if v.Text != "secret" || v.Versions != nil || len(v.Reactions) != 1 || v.Reactions[0].Count != 2 {
		t.Errorf("member view %+v", v)
	}
	if c := m.counted(); len(c.Versions) != 1 {
		t.Errorf("compliance view lost the versions: %+v", c)
	}
}

func TestThreadViewUnread(t *testing.T) {
	tr := threadRow{ID: "t", Members: []string{"a", "b"}, Seq: 7, ReadSeq: map[string]int64{"a": 7, "b": 3},
		Reads: map[string]string{"a": "m7", "b": "m3"}, Muted: map[string]bool{"b": true}}
	if v := tr.view("a"); v.UnreadCount != 0 || v.Muted {
		t.Errorf("a's view %+v", v)
	}
	v := tr.view("b")
	if v.UnreadCount != 4 || !v.Muted || v.Members[0].LastReadMessageID != "m7" || v.Members[1].LastReadMessageID != "m3" {
		t.Errorf("b's view %+v", v)
	}
}

func TestGIFCache(t *testing.T) {
	c := newGIFCache(time.Minute)
	now := time.Now()
	c.put("k", []GIF{{ID: "1"}}, now)
	if got, ok := c.get("k", now.Add(59*time.Second)); !ok || got[0].ID != "1" {
		t.Error("a search within a minute is not cached")
	}
	if _, ok := c.get("k", now.Add(60*time.Second)); ok {
		t.Error("a search a minute old is still cached")
	}
}
