package openapi

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Validator checks response bodies against the schemas Spec declares, so
// the spec and the wire cannot drift apart. It is strict where the spec is
// lax: an object may carry only the properties its schema declares (see
// closeObjects), and a 2xx JSON body of a status with no declared schema is
// refused. It compiles every response schema once, at NewValidator; it is
// safe for concurrent use.
//
// Schemas are JSON Schema 2020-12 (the OpenAPI 3.1 dialect), checked with
// santhosh-tekuri/jsonschema, the validator kin-openapi itself uses for 3.1
// documents. kin-openapi's own entry points recompile the schema on every
// call, and have no option that refuses undeclared properties.
type Validator struct {
	// schemas maps "METHOD /path status media-type" to its compiled schema.
	schemas map[string]*jsonschema.Schema
}

// specURL names Spec as a schema resource; response schemas are compiled at
// JSON pointers into it.
const specURL = "https://matterly.dev/openapi.json"

// NewValidator compiles the response schemas of Spec.
func NewValidator() (*Validator, error) { return newValidator(Spec) }

func newValidator(spec []byte) (*Validator, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(spec))
	if err != nil {
		return nil, fmt.Errorf("openapi: parse spec: %w", err)
	}
	root, _ := doc.(map[string]any)
	closeObjects(root)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(specURL, root); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	v := &Validator{schemas: map[string]*jsonschema.Schema{}}
	paths, _ := root["paths"].(map[string]any)
	for path, rawItem := range paths {
		item, _ := rawItem.(map[string]any)
		for _, m := range methods {
			op, _ := item[m].(map[string]any)
			responses, _ := op["responses"].(map[string]any)
			for status, rawResp := range responses {
				resp, _ := rawResp.(map[string]any)
				content, _ := resp["content"].(map[string]any)
				for media, rawMedia := range content {
					if _, ok := rawMedia.(map[string]any)["schema"]; !ok {
						continue
					}
					ptr := "/" + strings.Join([]string{"paths", escape(path), m, "responses", status, "content", escape(media), "schema"}, "/")
					sch, err := c.Compile(specURL + "#" + ptr)
					if err != nil {
						return nil, fmt.Errorf("openapi: %s %s %s %s: %w", strings.ToUpper(m), path, status, media, err)
					}
					v.schemas[responseKey(strings.ToUpper(m)+" "+path, status, media)] = sch
				}
			}
		}
	}
	return v, nil
}

var (
	sharedOnce sync.Once
	shared     *Validator
	sharedErr  error
)

// SharedValidator returns one Validator per process, so a test binary
// compiles the spec once however many responses it checks.
func SharedValidator() (*Validator, error) {
	sharedOnce.Do(func() { shared, sharedErr = NewValidator() })
	return shared, sharedErr
}

func responseKey(route, status, media string) string {
	return route + " " + status + " " + media
}

// escape encodes one JSON pointer token (RFC 6901).
func escape(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// ErrNoSchema is returned for a body whose route, status and media type
// have no declared schema.
var ErrNoSchema = errors.New("no response schema declared")

// ValidateResponse checks body, a response of route ("GET /v1/clients/{clientId}",
// as routes.Route.Key) with status and media type (parameters such as
// "; charset=utf-8" are ignored), against its declared schema: the exact
// status, else its range ("2XX"), else "default".
func (v *Validator) ValidateResponse(route string, status int, mediaType, body string) error {
	media, _, _ := strings.Cut(mediaType, ";")
	media = strings.ToLower(strings.TrimSpace(media))
	code := strconv.Itoa(status)
	var sch *jsonschema.Schema
	for _, s := range []string{code, code[:1] + "XX", "default"} {
		if sch = v.schemas[responseKey(route, s, media)]; sch != nil {
			break
		}
	}
	if sch == nil {
		return fmt.Errorf("%s %d %s: %w", route, status, media, ErrNoSchema)
	}
	val, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %d: body is not JSON: %w", route, status, err)
	}
	if err := sch.Validate(val); err != nil {
		return fmt.Errorf("%s %d does not match its schema: %w", route, status, err)
	}
	return nil
}

// closeObjects makes every object of the response schemas closed: a
// property the schema does not declare fails. It adds
// "unevaluatedProperties": false where a schema is used, rather than
// "additionalProperties": false, so composition keeps working: the
// properties an allOf branch, a $ref or the chosen oneOf branch declares
// count as declared (JSON Schema 2020-12, section 11.3). A schema that
// itself sits in an allOf (directly, or as the component an allOf branch
// refers to) is left open, or it would refuse its siblings' properties; its
// users close it instead. Schemas that already say what else they allow
// (additionalProperties or unevaluatedProperties) keep their rule.
func closeObjects(doc map[string]any) {
	components, _ := doc["components"].(map[string]any)
	schemas, _ := components["schemas"].(map[string]any)
	// Components some allOf branch refers to stay open.
	open := map[string]bool{}
	var findBranches func(v any)
	findBranches = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if all, ok := v["allOf"].([]any); ok {
				for _, b := range all {
					bm, _ := b.(map[string]any)
					if ref, ok := bm["$ref"].(string); ok {
						open[strings.TrimPrefix(ref, "#/components/schemas/")] = true
					}
				}
			}
			for _, x := range v {
				findBranches(x)
			}
		case []any:
			for _, x := range v {
				findBranches(x)
			}
		}
	}
	findBranches(doc)

	for name, s := range schemas {
		closeSchema(s, open[name], open)
	}
	paths, _ := doc["paths"].(map[string]any)
	for _, rawItem := range paths {
		item, _ := rawItem.(map[string]any)
		for _, m := range methods {
			op, _ := item[m].(map[string]any)
			responses, _ := op["responses"].(map[string]any)
			for _, rawResp := range responses {
				resp, _ := rawResp.(map[string]any)
				content, _ := resp["content"].(map[string]any)
				for _, rawMedia := range content {
					media, _ := rawMedia.(map[string]any)
					closeSchema(media["schema"], false, open)
				}
			}
		}
	}
}

// closeSchema closes s (unless it is an allOf branch, inAllOf) and every
// schema nested in it. open names the components left open.
func closeSchema(v any, inAllOf bool, open map[string]bool) {
	s, ok := v.(map[string]any)
	if !ok {
		return
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for _, p := range props {
			closeSchema(p, false, open)
		}
	}
	for _, k := range []string{"items", "additionalProperties", "not", "contains"} {
		closeSchema(s[k], false, open)
	}
	for _, k := range []string{"oneOf", "anyOf", "prefixItems"} {
		list, _ := s[k].([]any)
		for _, b := range list {
			closeSchema(b, false, open)
		}
	}
	all, _ := s["allOf"].([]any)
	for _, b := range all {
		closeSchema(b, true, open)
	}
	if inAllOf || !needsClosing(s, open) {
		return
	}
	if _, ok := s["additionalProperties"]; ok {
		return
	}
	if _, ok := s["unevaluatedProperties"]; ok {
		return
	}
	s["unevaluatedProperties"] = false
}

// needsClosing reports whether s may describe an object that nothing
// inside it closes: it declares properties, is of type object, composes
// with allOf, refers to a component left open, or has a oneOf/anyOf branch
// that needs closing. (A reference to a closed component is closed there;
// closing it twice only repeats every property in the errors.)
func needsClosing(s map[string]any, open map[string]bool) bool {
	for _, k := range []string{"properties", "allOf"} {
		if _, ok := s[k]; ok {
			return true
		}
	}
	if ref, ok := s["$ref"].(string); ok {
		name, local := strings.CutPrefix(ref, "#/components/schemas/")
		if !local || open[name] {
			return true
		}
	}
	for _, k := range []string{"oneOf", "anyOf"} {
		list, _ := s[k].([]any)
		for _, b := range list {
			if bm, ok := b.(map[string]any); ok && needsClosing(bm, open) {
				return true
			}
		}
	}
	switch t := s["type"].(type) {
	case string:
		return t == "object"
	case []any:
		return slices.Contains(t, any("object"))
	}
	return false
}
