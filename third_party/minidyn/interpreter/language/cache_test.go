package language

import (
	"sync"
	"testing"
)

func TestParseCachedSharesOneTreePerText(t *testing.T) {
	a := ParseConditionalCached("#a = :v AND begins_with(b, :p)")
	b := ParseConditionalCached("#a = :v AND begins_with(b, :p)")
	if a != b || a.Conditional == nil || len(a.Errors) != 0 {
		t.Fatalf("two parses of one text: %p %p, errors %v", a, b, a.Errors)
	}
	if c := ParseConditionalCached("#a = :w"); c == a {
		t.Error("another text shares the tree")
	}
	if u := ParseUpdateCached("#a = :v AND begins_with(b, :p)"); u == a || u.Update == nil {
		t.Error("an update expression of the same text shares the condition's parse")
	}
	if bad := ParseConditionalCached("a = "); len(bad.Errors) == 0 {
		t.Error("a syntax error is not kept with the parse")
	}
	if got := UndeclaredExpressionAttributeNames("#a = #b OR #a = #c", map[string]string{"#b": "b"}); len(got) != 2 || got[0] != "#a" || got[1] != "#c" {
		t.Errorf("undeclared names %v", got)
	}
}

// The cache starts again empty past maxCached texts, and concurrent
// parses of the same and of distinct texts agree (run with -race).
func TestParseCachedBoundedAndConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range maxCached / 4 {
				p := ParseConditionalCached("x = :v")
				if p.Conditional == nil || p.Conditional.String() != ParseConditionalCached("x = :v").Conditional.String() {
					t.Error("shared parse differs")
					return
				}
				_ = ParseProjectionCached("a, b.c[" + string(rune('0'+g)) + "]")
				_ = ParseConditionalCached("y = :v" + string(rune('a'+g)) + string(rune('0'+i%10)) + string(rune('0'+i/10%10)) + string(rune('0'+i/100%10)))
			}
		}()
	}
	wg.Wait()
	if n := parseCached.Load(); n > maxCached+8 {
		t.Errorf("%d parses cached, bound %d", n, maxCached)
	}
}
