package core

// Matterly's change to minidyn (see ../README.md): the table and each
// secondary index keep their items grouped by partition key and in
// sort-key order within a partition, so a Query reads the partition's
// key range by binary search, O(log n + page), instead of evaluating its
// key condition on every item of the table, and a write costs
// O(partition) instead of re-sorting every key of the table.

import (
	"math/big"
	"sort"
	"strings"

	"github.com/truora/minidyn/types"
)

// keyValue is one key attribute's value in DynamoDB order: strings and
// binaries byte by byte (unsigned), numbers by value.
type keyValue struct {
	s   string   // S, or B as bytes
	num *big.Rat // N
}

func compareKeyValues(a, b keyValue) int {
	if a.num != nil && b.num != nil {
		return a.num.Cmp(b.num)
	}

	return strings.Compare(a.s, b.s)
}

// toKeyValue reads v as a key attribute of type typ ("S", "N" or "B"),
// reporting false when v is not of that type.
func toKeyValue(v *types.Item, typ string) (keyValue, bool) {
	if v == nil {
		return keyValue{}, false
	}

	switch typ {
	case "S":
		if v.S != nil {
			return keyValue{s: *v.S}, true
		}
	case "N":
		if v.N != nil {
			r, ok := new(big.Rat).SetString(strings.TrimSpace(*v.N))
			if ok {
				return keyValue{s: *v.N, num: r}, true
			}
		}
	case "B":
		if v.B != nil {
			return keyValue{s: string(v.B)}, true
		}
	}

	return keyValue{}, false
}

// orderedEntry is one item in an ordered index.
type orderedEntry struct {
	sort     keyValue // the sort key's value (zero without a range key)
	tableKey string   // the item's key in Table.Data
}

// compareEntries orders by sort key, then by table key (the order of items
// with equal index keys, which DynamoDB leaves unspecified).
func compareEntries(a, b orderedEntry) int {
	if c := compareKeyValues(a.sort, b.sort); c != 0 {
		return c
	}

	return strings.Compare(a.tableKey, b.tableKey)
}

// orderedRef is where an item sits in an ordered index.
type orderedRef struct {
	partition string
	sort      keyValue
}

// ordered is the items of one key schema, per partition, in order.
type ordered struct {
	ks         keySchema
	partitions map[string][]orderedEntry
	refs       map[string]orderedRef // table key → its place
}

func newOrdered(ks keySchema) *ordered {
	return &ordered{ks: ks, partitions: map[string][]orderedEntry{}, refs: map[string]orderedRef{}}
}

func (o *ordered) clear() {
	o.partitions = map[string][]orderedEntry{}
	o.refs = map[string]orderedRef{}
}

func (o *ordered) count() int { return len(o.refs) }

// partitionID names the partition of a hash key value.
func partitionID(v keyValue) string {
	if v.num != nil {
		return "N" + v.s
	}

	return "S" + v.s
}

// place is where item belongs in o, false when it lacks a key attribute
// of the right type (a sparse index leaves such items out).
func (o *ordered) place(attrs map[string]string, item map[string]*types.Item) (orderedRef, bool) {
	hash, ok := toKeyValue(item[o.ks.HashKey], attrs[o.ks.HashKey])
	if !ok {
		return orderedRef{}, false
	}

	ref := orderedRef{partition: partitionID(hash)}

	if o.ks.RangeKey != "" {
		ref.sort, ok = toKeyValue(item[o.ks.RangeKey], attrs[o.ks.RangeKey])
		if !ok {
			return orderedRef{}, false
		}
	}

	return ref, true
}

// set files item under tableKey, moving it if its index key changed and
// dropping it when it no longer has one.
func (o *ordered) set(attrs map[string]string, tableKey string, item map[string]*types.Item) {
	ref, ok := o.place(attrs, item)
	old, had := o.refs[tableKey]

	if had && ok && old.partition == ref.partition && compareKeyValues(old.sort, ref.sort) == 0 {
		return
	}

	if had {
		o.remove(tableKey)
	}

	if !ok {
		return
	}

	entries := o.partitions[ref.partition]
	e := orderedEntry{sort: ref.sort, tableKey: tableKey}
	pos := sort.Search(len(entries), func(i int) bool { return compareEntries(entries[i], e) >= 0 })
	entries = append(entries, orderedEntry{})
	copy(entries[pos+1:], entries[pos:])
	entries[pos] = e
	o.partitions[ref.partition] = entries
	o.refs[tableKey] = ref
}

// remove drops the item under tableKey, if o holds it.
func (o *ordered) remove(tableKey string) {
	ref, ok := o.refs[tableKey]
	if !ok {
		return
	}

	delete(o.refs, tableKey)

	entries := o.partitions[ref.partition]
	e := orderedEntry{sort: ref.sort, tableKey: tableKey}
	pos := sort.Search(len(entries), func(i int) bool { return compareEntries(entries[i], e) >= 0 })

	if pos < len(entries) && entries[pos].tableKey == tableKey {
		entries = append(entries[:pos], entries[pos+1:]...)
	}

	if len(entries) == 0 {
		delete(o.partitions, ref.partition)
		return
	}

	o.partitions[ref.partition] = entries
}

// all is every entry, partition by partition (partitions in the order of
// their IDs), for a Scan or a key condition that cannot be narrowed.
func (o *ordered) all() []string {
	ids := make([]string, 0, len(o.partitions))
	for id := range o.partitions {
		ids = append(ids, id)
	}

	sort.Strings(ids)

	keys := make([]string, 0, len(o.refs))

	for _, id := range ids {
		for _, e := range o.partitions[id] {
			keys = append(keys, e.tableKey)
		}
	}

	return keys
}

// narrow returns the entries of o that the key condition can select, in
// ascending order; false when the condition is not one it understands
// (the caller then evaluates it on every item, as minidyn always did).
// It is an optimization only: every returned entry is still matched
// against the whole condition.
func (o *ordered) narrow(attrs map[string]string, input QueryInput) ([]orderedEntry, bool) {
	conds, ok := parseKeyCondition(input.KeyConditionExpression)
	if !ok {
		return nil, false
	}

	resolve := func(name string) string {
		if strings.HasPrefix(name, "#") {
			if v, ok := input.Aliases[name]; ok {
				return v
			}

			return ""
		}

		return name
	}

	value := func(ph, attr string) (keyValue, bool) {
		v, ok := input.ExpressionAttributeValues[ph]
		if !ok {
			return keyValue{}, false
		}

		return toKeyValue(v, attrs[attr])
	}

	var (
		entries  []orderedEntry
		havePart bool
		rangeCnd *keyCond
	)

	for i := range conds {
		c := &conds[i]

		switch resolve(c.name) {
		case o.ks.HashKey:
			if c.op != "=" || havePart {
				return nil, false
			}

			v, ok := value(c.values[0], o.ks.HashKey)
			if !ok {
				return nil, false
			}

			entries, havePart = o.partitions[partitionID(v)], true
		case o.ks.RangeKey:
			if o.ks.RangeKey == "" || rangeCnd != nil {
				return nil, false
			}

			rangeCnd = c
		default:
			return nil, false
		}
	}

	if !havePart {
		return nil, false
	}

	if rangeCnd == nil {
		return entries, true
	}

	vals := make([]keyValue, len(rangeCnd.values))
	for i, ph := range rangeCnd.values {
		v, ok := value(ph, o.ks.RangeKey)
		if !ok {
			return nil, false
		}

		vals[i] = v
	}

	// first index whose sort key is >= v (or > v when after).
	search := func(v keyValue, after bool) int {
		return sort.Search(len(entries), func(i int) bool {
			c := compareKeyValues(entries[i].sort, v)
			if after {
				return c > 0
			}

			return c >= 0
		})
	}

	lo, hi := 0, len(entries)

	switch rangeCnd.op {
	case "=":
		lo, hi = search(vals[0], false), search(vals[0], true)
	case "<":
		hi = search(vals[0], false)
	case "<=":
		hi = search(vals[0], true)
	case ">":
		lo = search(vals[0], true)
	case ">=":
		lo = search(vals[0], false)
	case "BETWEEN":
		lo, hi = search(vals[0], false), search(vals[1], true)
	case "begins_with":
		if vals[0].num != nil {
			return nil, false
		}

		lo = search(vals[0], false)
		rest := entries[lo:]
		hi = lo + sort.Search(len(rest), func(i int) bool { return !strings.HasPrefix(rest[i].sort.s, vals[0].s) })
	default:
		return nil, false
	}

	if hi < lo {
		hi = lo
	}

	return entries[lo:hi], true
}

// after returns the position in entries from which a page continues past
// the ExclusiveStartKey start: the first entry after it (forward), or one
// past the last entry before it (backward).
func after(entries []orderedEntry, start orderedEntry, forward bool) int {
	return sort.Search(len(entries), func(i int) bool {
		c := compareEntries(entries[i], start)
		if forward {
			return c > 0
		}

		return c >= 0
	})
}

// startEntry is the ExclusiveStartKey as an entry of o, false when it does
// not carry o's sort key.
func (o *ordered) startEntry(attrs map[string]string, tableKey string, start map[string]*types.Item) (orderedEntry, bool) {
	e := orderedEntry{tableKey: tableKey}

	if o.ks.RangeKey != "" {
		v, ok := toKeyValue(start[o.ks.RangeKey], attrs[o.ks.RangeKey])
		if !ok {
			return orderedEntry{}, false
		}

		e.sort = v
	}

	return e, true
}

// keyCond is one conjunct of a key condition: name op values.
type keyCond struct {
	name   string
	op     string // = < <= > >= BETWEEN begins_with
	values []string
}

// parseKeyCondition reads the key condition forms DynamoDB allows:
// hash = :v, optionally AND a sort key condition (=, <, <=, >, >=,
// BETWEEN :a AND :b, begins_with(sk, :p)), in either order and with
// optional parentheses. False for anything else.
func parseKeyCondition(expr string) ([]keyCond, bool) {
	toks, ok := tokenizeKeyCondition(expr)
	if !ok {
		return nil, false
	}

	p := &kcParser{toks: toks}

	conds, ok := p.conjunction()
	if !ok || p.pos != len(p.toks) || len(conds) == 0 || len(conds) > 2 {
		return nil, false
	}

	return conds, true
}

type kcParser struct {
	toks []string
	pos  int
}

func (p *kcParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}

	return ""
}

func (p *kcParser) next() string {
	t := p.peek()
	p.pos++

	return t
}

func (p *kcParser) conjunction() ([]keyCond, bool) {
	var conds []keyCond

	for {
		c, ok := p.term()
		if !ok {
			return nil, false
		}

		conds = append(conds, c...)

		if !strings.EqualFold(p.peek(), "AND") {
			return conds, true
		}

		p.next()
	}
}

func isName(t string) bool {
	return t != "" && !strings.HasPrefix(t, ":") && !strings.ContainsAny(t[:1], "()=<>,") &&
		!strings.EqualFold(t, "AND") && !strings.EqualFold(t, "BETWEEN") && !strings.EqualFold(t, "OR") && !strings.EqualFold(t, "NOT")
}

func isValue(t string) bool { return len(t) > 1 && t[0] == ':' }

func (p *kcParser) term() ([]keyCond, bool) {
	t := p.next()

	switch {
	case t == "(":
		conds, ok := p.conjunction()
		if !ok || p.next() != ")" {
			return nil, false
		}

		return conds, true
	case t == "begins_with":
		if p.next() != "(" {
			return nil, false
		}

		name := p.next()
		if !isName(name) || p.next() != "," {
			return nil, false
		}

		v := p.next()
		if !isValue(v) || p.next() != ")" {
			return nil, false
		}

		return []keyCond{{name: name, op: "begins_with", values: []string{v}}}, true
	case isName(t):
		op := p.next()

		switch {
		case op == "=" || op == "<" || op == "<=" || op == ">" || op == ">=":
			v := p.next()
			if !isValue(v) {
				return nil, false
			}

			return []keyCond{{name: t, op: op, values: []string{v}}}, true
		case strings.EqualFold(op, "BETWEEN"):
			a := p.next()
			and := p.next()
			b := p.next()

			if !isValue(a) || !strings.EqualFold(and, "AND") || !isValue(b) {
				return nil, false
			}

			return []keyCond{{name: t, op: "BETWEEN", values: []string{a, b}}}, true
		}
	}

	return nil, false
}

// tokenizeKeyCondition splits expr into names (#alias or plain),
// :values, operators and punctuation.
func tokenizeKeyCondition(expr string) ([]string, bool) {
	var toks []string

	isWord := func(c byte) bool {
		return c == '_' || c == '#' || c == ':' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}

	for i := 0; i < len(expr); {
		c := expr[i]

		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == ',' || c == '=':
			toks = append(toks, string(c))
			i++
		case c == '<' || c == '>':
			if i+1 < len(expr) && expr[i+1] == '=' {
				toks = append(toks, expr[i:i+2])
				i += 2
			} else if c == '<' && i+1 < len(expr) && expr[i+1] == '>' {
				return nil, false // <> is not a key condition
			} else {
				toks = append(toks, string(c))
				i++
			}
		case isWord(c):
			j := i
			for j < len(expr) && isWord(expr[j]) {
				j++
			}

			toks = append(toks, expr[i:j])
			i = j
		default:
			return nil, false
		}
	}

	return toks, true
}
