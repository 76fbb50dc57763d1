package openapi

import (
	"errors"
	"strings"
	"testing"
)

// TestValidatorCompilesSpec: every response schema of the spec compiles
// (the e2e harness depends on it).
func TestValidatorCompilesSpec(t *testing.T) {
	v, err := SharedValidator()
	if err != nil {
		t.Fatal(err)
	}
	if len(v.schemas) == 0 {
		t.Fatal("no response schemas compiled")
	}
}

// TestValidateResponseSpec checks bodies against a real route of the spec:
// GET /v1/notes/{noteId} answers a Note.
func TestValidateResponseSpec(t *testing.T) {
	v, err := SharedValidator()
	if err != nil {
		t.Fatal(err)
	}
	const route = "GET /v1/notes/{noteId}"
	note := `"id":"01J9Z3KXW6N4P8R2T5V7Y9B1C3","clientId":"c1","body":"Called.","authorId":"u1","createdAt":"2026-01-02T03:04:05Z","updatedAt":"2026-01-02T03:04:05Z"`
	tests := []struct {
		name, media, body string
		status            int
		want              string // a substring of the error; "" for valid
		noSchema          bool
	}{
		{name: "valid", status: 200, media: "application/json", body: `{` + note + `}`},
		{name: "charset parameter", status: 200, media: "application/json; charset=utf-8", body: `{` + note + `}`},
		{name: "undeclared property", status: 200, media: "application/json", body: `{` + note + `,"secret":"x"}`, want: "secret"},
		{name: "wrong type", status: 200, media: "application/json", body: `{"id":"n1","clientId":"c1","body":42,"authorId":"u1","createdAt":"2026-01-02T03:04:05Z","updatedAt":"2026-01-02T03:04:05Z"}`, want: "body"},
		{name: "missing required", status: 200, media: "application/json", body: `{"id":"n1"}`, want: "missing"},
		{name: "bad date-time", status: 200, media: "application/json", body: `{"id":"n1","clientId":"c1","body":"b","authorId":"u1","createdAt":"yesterday","updatedAt":"2026-01-02T03:04:05Z"}`, want: "date-time"},
		{name: "undeclared status", status: 201, media: "application/json", body: `{` + note + `}`, noSchema: true},
		{name: "undeclared media type", status: 200, media: "text/plain", body: `{` + note + `}`, noSchema: true},
		{name: "not JSON", status: 200, media: "application/json", body: `{`, want: "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.ValidateResponse(route, tt.status, tt.media, tt.body)
			switch {
			case tt.noSchema:
				if !errors.Is(err, ErrNoSchema) {
					t.Fatalf("err = %v, want ErrNoSchema", err)
				}
			case tt.want == "":
				if err != nil {
					t.Fatalf("valid body refused: %v", err)
				}
			case err == nil:
				t.Fatalf("body accepted, want an error mentioning %q", tt.want)
			case !strings.Contains(err.Error(), tt.want):
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// closedSpec exercises the composition rules of closeObjects: an allOf of a
// component and extra properties, the same component used on its own, a
// oneOf, a map, and nested objects.
const closedSpec = `{
  "openapi": "3.1.0",
  "paths": {
    "/base": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Base"}}}}}}},
    "/ext": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ext"}}}}}}},
    "/page": {"get": {"responses": {"2XX": {"content": {"application/json": {"schema": {
      "type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Base"}}}}}}}}}},
    "/either": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {
      "oneOf": [{"$ref": "#/components/schemas/Base"}, {"$ref": "#/components/schemas/Other"}]}}}}}}},
    "/map": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {
      "type": "object", "additionalProperties": {"type": "integer"}}}}}}}}
  },
  "components": {"schemas": {
    "Base": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"},
      "nested": {"type": "object", "properties": {"a": {"type": "string"}}}}},
    "Ext": {"allOf": [{"$ref": "#/components/schemas/Base"}, {"type": "object", "properties": {"extra": {"type": "integer"}}}]},
    "Other": {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}}}
  }}
}`

func TestClosedObjects(t *testing.T) {
	v, err := newValidator([]byte(closedSpec))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		route, body string
		ok          bool
	}{
		{"GET /base", `{"id":"1","nested":{"a":"x"}}`, true},
		{"GET /base", `{"id":"1","extra":1}`, false}, // Ext's property is not Base's
		{"GET /base", `{"id":"1","nested":{"b":"x"}}`, false},
		{"GET /ext", `{"id":"1","extra":1}`, true}, // allOf: both branches' properties are declared
		{"GET /ext", `{"id":"1","extra":1,"more":1}`, false},
		{"GET /ext", `{"id":"1","extra":"1"}`, false},
		{"GET /ext", `{"id":"1","nested":{"b":"x"}}`, false},
		{"GET /page", `{"items":[{"id":"1"},{"id":"2"}]}`, true},
		{"GET /page", `{"items":[{"id":"1"},{"id":"2","x":1}]}`, false},
		{"GET /either", `{"id":"1"}`, true},
		{"GET /either", `{"kind":"k"}`, true},
		{"GET /either", `{"id":"1","kind":"k"}`, false}, // neither branch declares both
		{"GET /map", `{"a":1,"b":2}`, true},
		{"GET /map", `{"a":"1"}`, false},
	}
	for _, tt := range tests {
		err := v.ValidateResponse(tt.route, 200, "application/json", tt.body)
		if (err == nil) != tt.ok {
			t.Errorf("%s %s: err = %v, want ok=%v", tt.route, tt.body, err, tt.ok)
		}
	}
}

// BenchmarkNewValidator is the one-time cost per test binary.
func BenchmarkNewValidator(b *testing.B) {
	for b.Loop() {
		if _, err := NewValidator(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateResponse is the cost each e2e response adds.
func BenchmarkValidateResponse(b *testing.B) {
	v, err := SharedValidator()
	if err != nil {
		b.Fatal(err)
	}
	body := `{"items":[` + strings.Repeat(`{"id":"01J9Z3KXW6N4P8R2T5V7Y9B1C3","clientId":"c1","body":"Called.","authorId":"u1","createdAt":"2026-01-02T03:04:05Z","updatedAt":"2026-01-02T03:04:05Z"},`, 24) +
		`{"id":"n","body":"b","authorId":"u1","createdAt":"2026-01-02T03:04:05Z","updatedAt":"2026-01-02T03:04:05Z"}],"nextCursor":"abc"}`
	for b.Loop() {
		if err := v.ValidateResponse("GET /v1/clients/{clientId}/notes", 200, "application/json", body); err != nil {
			b.Fatal(err)
		}
	}
}
