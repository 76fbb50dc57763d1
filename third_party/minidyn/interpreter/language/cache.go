package language

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Matterly: parsing an expression cost more than evaluating it, and it was
// done again for every item a Query filtered and for every condition of a
// write, though an application sends the same few expression strings over
// and over. So each parse is kept, keyed by the kind of expression and its
// text. Evaluation only reads the tree (values live in the Environment),
// so one tree is shared by concurrent evaluations.

// Parsed is the outcome of parsing one expression: its tree (one of the
// fields, by kind) and the parser's errors.
type Parsed struct {
	Conditional *ConditionalExpression
	Projection  []Expression
	Update      *UpdateStatement
	Errors      []string
	Unsupported bool // IsUnsupportedExpression, for update expressions
}

type parseKind byte

const (
	kindConditional parseKind = iota
	kindProjection
	kindUpdate
	kindNames
)

type cacheKey struct {
	kind parseKind
	expr string
}

// maxCached bounds the cache: past it the cache starts again empty, which
// only costs re-parsing (a program with unbounded distinct expressions,
// such as values pasted into the text, still uses bounded memory).
const maxCached = 4096

var (
	parseCache  sync.Map // cacheKey → *Parsed or []string
	parseCached atomic.Int64
)

func cached(k cacheKey, parse func() any) any {
	if v, ok := parseCache.Load(k); ok {
		return v
	}

	v := parse()
	if _, loaded := parseCache.LoadOrStore(k, v); !loaded && parseCached.Add(1) > maxCached {
		parseCache.Clear()
		parseCached.Store(0)
	}

	return v
}

// ParseConditionalCached parses a condition, filter or key condition
// expression, or returns the tree of an earlier parse of the same text.
// The result must not be modified.
func ParseConditionalCached(expr string) *Parsed {
	return cached(cacheKey{kindConditional, expr}, func() any {
		p := NewParser(NewLexer(expr))
		c := p.ParseConditionalExpression()

		return &Parsed{Conditional: c, Errors: p.Errors()}
	}).(*Parsed)
}

// ParseProjectionCached is ParseConditionalCached for projection expressions.
func ParseProjectionCached(expr string) *Parsed {
	return cached(cacheKey{kindProjection, expr}, func() any {
		p := NewParser(NewLexer(expr))
		exprs := p.ParseProjectionExpression()

		return &Parsed{Projection: exprs, Errors: p.Errors()}
	}).(*Parsed)
}

// ParseUpdateCached is ParseConditionalCached for update expressions.
func ParseUpdateCached(expr string) *Parsed {
	return cached(cacheKey{kindUpdate, expr}, func() any {
		p := NewUpdateParser(NewLexer(expr))
		u := p.ParseUpdateExpression()

		return &Parsed{Update: u, Errors: p.Errors(), Unsupported: p.IsUnsupportedExpression()}
	}).(*Parsed)
}

// namePlaceholders is every attribute name placeholder (#name) of
// expression, once each, in first-seen order.
func namePlaceholders(expression string) []string {
	return cached(cacheKey{kindNames, expression}, func() any {
		l := NewLexer(expression)
		seen := map[string]bool{}
		names := []string{}

		for tok := l.NextToken(); tok.Type != EOF; tok = l.NextToken() {
			if tok.Type == IDENT && strings.HasPrefix(tok.Literal, "#") && !seen[tok.Literal] {
				seen[tok.Literal] = true
				names = append(names, tok.Literal)
			}
		}

		return names
	}).([]string)
}
