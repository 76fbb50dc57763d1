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

// DecodeJSON strictly decodes one JSON object from b into dst.
func DecodeJSON(b []byte, dst any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return fault.E(fault.Malformed, "The request body is empty; a JSON object is required.")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fault.E(fault.Malformed, "The request body must hold a single JSON object.")
	}
	return checkKeys(b, dst)
}

// checkKeys closes two gaps of encoding/json: it matches keys to fields
// case-insensitively and lets the last of duplicate keys win. So
// {"role":"staff","role":"admin"} or {"ROLE":"admin"} would pass a filter
// that looked for "role". Both are refused.
func checkKeys(b []byte, dst any) error {
	names := jsonNames(reflect.TypeOf(dst))
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil // not an object: the decode above has judged it
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		switch {
		case seen[key]:
			return fault.Fields(fault.FieldError{Field: key, Message: "appears more than once"})
		case names != nil && !names[key]:
			return fault.Fields(fault.FieldError{Field: key, Message: "unknown field (names are case-sensitive)"})
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}

// jsonNames returns the JSON field names of a pointer to a struct, or nil.
func jsonNames(t reflect.Type) map[string]bool {
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	t = t.Elem()
	names := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		names[name] = true
	}
	return names
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
