package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/matterly/matterly/shared/fault"
)

// DefaultMaxBody is the largest JSON body a route accepts unless it says
// otherwise. Files never travel through the API (they go to S3 directly).
const DefaultMaxBody = 64 << 10

// Body returns the raw request body, base64-decoded when API Gateway encoded it.
func (r *Request) Body() ([]byte, error) {
	raw := r.Event.Body
	if len(raw) > 4*r.maxBody/3+4 {
		return nil, tooLarge(r.maxBody)
	}
	var b []byte
	if r.Event.IsBase64Encoded {
		var err error
		if b, err = base64.StdEncoding.DecodeString(raw); err != nil {
			return nil, fault.E(fault.Malformed, "The request body is not valid base64.")
		}
	} else {
		b = []byte(raw)
	}
	if len(b) > r.maxBody {
		return nil, tooLarge(r.maxBody)
	}
	return b, nil
}

func tooLarge(limit int) error {
	return fault.E(fault.TooLarge, "The request body is larger than %d bytes.", limit)
}

// Decode reads the JSON body into dst: one JSON object, no unknown fields, no
// trailing data, within the body limit. Syntax errors answer 400; a wrong
// type or an unknown field answers 422 naming the field.
func (r *Request) Decode(dst any) error {
	b, err := r.Body()
	if err != nil {
		return err
	}
	if ct := r.Header("content-type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return fault.E(fault.Malformed, "The request body must be application/json.")
		}
	}
	return DecodeJSON(b, dst)
}

// ErrNotUTF8 is under DecodeJSON's 400 for text that is not valid UTF-8,
// for a route whose contract answers it otherwise (chat: a 422 on the text).
var ErrNotUTF8 = errors.New("httpapi: the request body is not valid UTF-8")

// DecodeJSON strictly decodes one JSON object from b into dst. An empty
// body is the empty object (API.md: a POST or PUT whose fields are all
// optional accepts it), so required fields fail validation with a 422 that
// names them rather than a 400 about the body. Text that is not valid UTF-8,
// raw or as a lone surrogate escape, answers 400: encoding/json would store
// it silently as U+FFFD.
func DecodeJSON(b []byte, dst any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}")
	}
	if !utf8.Valid(b) || hasLoneSurrogate(b) {
		e := fault.E(fault.Malformed, "The request body is not valid UTF-8.")
		e.Err = ErrNotUTF8
		return e
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			// encoding/json names the key without its path; the walk names it in full.
			if kerr := checkKeys(b, dst); kerr != nil {
				return kerr
			}
		}
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fault.E(fault.Malformed, "The request body must hold a single JSON object.")
	}
	return checkKeys(b, dst)
}

// hasLoneSurrogate reports whether a JSON text escapes half of a UTF-16
// surrogate pair without its other half ("\ud800"), which no UTF-8 string
// can hold. It runs before decoding, so it must tolerate any input; only
// escapes inside strings are looked at.
func hasLoneSurrogate(b []byte) bool {
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !inString {
			inString = c == '"'
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 >= len(b) {
				return false
			}
			if b[i+1] != 'u' {
				i++ // the escaped character, which may be a quote or a backslash
				continue
			}
			r, ok := hex4(b, i+2)
			if !ok {
				return false // a syntax error, which the decoder reports
			}
			i += 5
			switch {
			case r >= 0xD800 && r < 0xDC00: // a high half: a low half must follow
				if i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
					if lo, ok := hex4(b, i+3); ok && lo >= 0xDC00 && lo < 0xE000 {
						i += 6
						continue
					}
				}
				return true
			case r >= 0xDC00 && r < 0xE000: // a low half alone
				return true
			}
		}
	}
	return false
}

// hex4 reads the four hex digits of a \u escape at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// checkKeys closes two gaps of encoding/json: it matches keys to fields
// case-insensitively and lets the last of duplicate keys win. So
// {"role":"staff","role":"admin"} or {"ROLE":"admin"} would pass a filter
// that looked for "role". Both are refused, at every depth of the body.
// b has already decoded cleanly into dst.
func checkKeys(b []byte, dst any) error {
	return walk(json.NewDecoder(bytes.NewReader(b)), reflect.TypeOf(dst), "")
}

// walk reads one JSON value, checking each object's keys against the Go
// type it decodes into (nil when the type says nothing, as for any).
func walk(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return nil // cannot happen after a clean decode
	}
	switch tok {
	case json.Delim('{'):
		var fields map[string]reflect.Type
		var elem reflect.Type
		switch {
		case t != nil && t.Kind() == reflect.Struct:
			fields = fieldTypes(t)
		case t != nil && t.Kind() == reflect.Map:
			elem = t.Elem()
		}
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil
			}
			key, _ := kt.(string)
			name := key
			if path != "" {
				name = path + "." + key
			}
			if seen[key] {
				return fault.Fields(fault.FieldError{Field: name, Message: "appears more than once"})
			}
			seen[key] = true
			next := elem
			if fields != nil {
				ft, ok := fields[key]
				if !ok {
					return fault.Fields(fault.FieldError{Field: name, Message: "unknown field (names are case-sensitive)"})
				}
				next = ft
			}
			if err := walk(dec, next, name); err != nil {
				return err
			}
		}
		_, _ = dec.Token() // the closing brace
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walk(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		_, _ = dec.Token() // the closing bracket
	}
	return nil
}

// fieldTypes returns the JSON keys of struct type t with their types, the
// way encoding/json chooses them: tags, "-", and the fields of embedded
// structs promoted unless a shallower field has the name.
func fieldTypes(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var embedded []reflect.Type
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				embedded = append(embedded, et)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	for _, et := range embedded {
		for k, v := range fieldTypes(et) {
			if _, shadowed := out[k]; !shadowed {
				out[k] = v
			}
		}
	}
	return out
}

func decodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return fault.E(fault.Malformed, "The request body must be a JSON object.")
		}
		return fault.Fields(fault.FieldError{Field: typeErr.Field, Message: fmt.Sprintf("must be %s", jsonKind(typeErr.Type.Kind().String()))})
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fault.E(fault.Malformed, "The request body is not valid JSON.")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fault.Fields(fault.FieldError{Field: name, Message: "unknown field"})
	}
	return fault.E(fault.Malformed, "The request body is not valid JSON.")
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	}
	return "of another type"
}
