package server

import (
	"encoding/base64"
	"sort"
	"strconv"
	"unicode/utf8"
)

// AttributeValue is a concrete representation of DynamoDB's AttributeValue
// that works with standard json encoding/decoding.
type AttributeValue struct {
	B    []byte                     `json:"B,omitempty"`
	BOOL *bool                      `json:"BOOL,omitempty"`
	BS   [][]byte                   `json:"BS,omitempty"`
	L    []*AttributeValue          `json:"L,omitempty"`
	M    map[string]*AttributeValue `json:"M,omitempty"`
	N    *string                    `json:"N,omitempty"`
	NS   []*string                  `json:"NS,omitempty"`
	NULL *bool                      `json:"NULL,omitempty"`
	S    *string                    `json:"S,omitempty"`
	SS   []*string                  `json:"SS,omitempty"`
}

// MarshalJSON writes an empty list or map with its type. Matterly: the
// omitempty tags above wrote one as a typeless {}, which DynamoDB never
// sends and the SDK decodes as a copy of the attribute before it.
//
// Matterly: it writes the JSON by hand, the same bytes encoding/json
// writes for the struct (its omitempty rules, sorted map keys, base64
// binaries, HTML-safe strings): reflection here was the larger part of
// answering a Query.
func (av AttributeValue) MarshalJSON() ([]byte, error) {
	return av.appendJSON(make([]byte, 0, 64)), nil
}

func (av *AttributeValue) appendJSON(b []byte) []byte {
	switch {
	case av.L != nil && len(av.L) == 0:
		return append(b, `{"L":[]}`...)
	case av.M != nil && len(av.M) == 0:
		return append(b, `{"M":{}}`...)
	}

	b = append(b, '{')
	n := len(b)
	field := func(name string) {
		if len(b) > n {
			b = append(b, ',')
		}

		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}

	if len(av.B) > 0 {
		field("B")
		b = appendBase64(b, av.B)
	}

	if av.BOOL != nil {
		field("BOOL")
		b = strconv.AppendBool(b, *av.BOOL)
	}

	if len(av.BS) > 0 {
		field("BS")
		b = append(b, '[')

		for i, v := range av.BS {
			if i > 0 {
				b = append(b, ',')
			}

			if v == nil {
				b = append(b, "null"...)
			} else {
				b = appendBase64(b, v)
			}
		}

		b = append(b, ']')
	}

	if len(av.L) > 0 {
		field("L")
		b = append(b, '[')

		for i, v := range av.L {
			if i > 0 {
				b = append(b, ',')
			}

			b = appendAV(b, v)
		}

		b = append(b, ']')
	}

	if len(av.M) > 0 {
		field("M")
		b = append(b, '{')

		keys := make([]string, 0, len(av.M))
		for k := range av.M {
			keys = append(keys, k)
		}

		sort.Strings(keys)

		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}

			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendAV(b, av.M[k])
		}

		b = append(b, '}')
	}

	if av.N != nil {
		field("N")
		b = appendJSONString(b, *av.N)
	}

	if len(av.NS) > 0 {
		field("NS")
		b = appendStrings(b, av.NS)
	}

	if av.NULL != nil {
		field("NULL")
		b = strconv.AppendBool(b, *av.NULL)
	}

	if av.S != nil {
		field("S")
		b = appendJSONString(b, *av.S)
	}

	if len(av.SS) > 0 {
		field("SS")
		b = appendStrings(b, av.SS)
	}

	return append(b, '}')
}

func appendAV(b []byte, av *AttributeValue) []byte {
	if av == nil {
		return append(b, "null"...)
	}

	return av.appendJSON(b)
}

func appendStrings(b []byte, list []*string) []byte {
	b = append(b, '[')

	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}

		if s == nil {
			b = append(b, "null"...)
		} else {
			b = appendJSONString(b, *s)
		}
	}

	return append(b, ']')
}

func appendBase64(b []byte, v []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, v)

	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does with HTML escaping on:
// <, > and & as \u003c and so on, U+2028 and U+2029 escaped, invalid
// UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0

	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++

				continue
			}

			b = append(b, s[start:i]...)

			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}

			i++
			start = i

			continue
		}

		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i

			continue
		}

		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i

			continue
		}

		i += size
	}

	b = append(b, s[start:]...)

	return append(b, '"')
}
