package openapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/matterly/matterly/shared/routes"
)

// operation is one operation of the spec with the path item holding it.
type operation struct {
	method, path string
	op, item     map[string]any
}

func (o operation) key() string { return strings.ToUpper(o.method) + " " + o.path }

// loadSpec parses Spec as generic JSON.
func loadSpec(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(Spec, &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	return doc
}

// object asserts v is a JSON object.
func object(t *testing.T, v any, where string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: want a JSON object, got %T", where, v)
	}
	return m
}

// operations lists every operation of the spec, keyed "METHOD /path".
func operations(t *testing.T, doc map[string]any) map[string]operation {
	t.Helper()
	out := map[string]operation{}
	for path, rawItem := range object(t, doc["paths"], "paths") {
		item := object(t, rawItem, "paths."+path)
		for _, m := range methods {
			if raw, ok := item[m]; ok {
				o := operation{method: m, path: path, op: object(t, raw, m+" "+path), item: item}
				out[o.key()] = o
			}
		}
	}
	return out
}

// pointer resolves a local reference ("#/components/schemas/User") in doc.
func pointer(doc any, ref string) (any, error) {
	rest, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("not a local reference")
	}
	if rest == "" {
		return doc, nil
	}
	if !strings.HasPrefix(rest, "/") {
		return nil, fmt.Errorf("fragment is not a JSON pointer")
	}
	cur := doc
	for _, tok := range strings.Split(rest[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[tok]
			if !ok {
				return nil, fmt.Errorf("no member %q", tok)
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) {
				return nil, fmt.Errorf("no index %q", tok)
			}
			cur = v[i]
		default:
			return nil, fmt.Errorf("cannot descend into %T at %q", cur, tok)
		}
	}
	return cur, nil
}

// deref follows $ref until it reaches an object that is not a reference.
func deref(t *testing.T, doc map[string]any, v any) map[string]any {
	t.Helper()
	m := object(t, v, "referenced object")
	for range 10 {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		target, err := pointer(doc, ref)
		if err != nil {
			t.Fatalf("$ref %q: %v", ref, err)
		}
		m = object(t, target, ref)
	}
	t.Fatalf("reference chain too long")
	return nil
}

// refSite is one "$ref" in the document and where it sits.
type refSite struct{ at, ref string }

// collectRefs walks v and records every "$ref" string.
func collectRefs(v any, at string, out *[]refSite) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if s, ok := v[k].(string); ok && k == "$ref" {
				*out = append(*out, refSite{at: at, ref: s})
				continue
			}
			collectRefs(v[k], at+"/"+strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1"), out)
		}
	case []any:
		for i, e := range v {
			collectRefs(e, at+"/"+strconv.Itoa(i), out)
		}
	}
}

func TestSpecDocument(t *testing.T) {
	doc := loadSpec(t)
	tests := []struct {
		ptr  string
		want string
	}{
		{"#/openapi", "3.1.0"},
		{"#/info/title", "Matterly API"},
		{"#/components/securitySchemes/bearerAuth/type", "http"},
		{"#/components/securitySchemes/bearerAuth/scheme", "bearer"},
		{"#/components/securitySchemes/bearerAuth/bearerFormat", "JWT"},
		{"#/components/parameters/RefreshCookie/in", "cookie"},
		{"#/components/parameters/RefreshCookie/name", "matterly_refresh"},
	}
	for _, tt := range tests {
		t.Run(tt.ptr, func(t *testing.T) {
			got, err := pointer(doc, tt.ptr)
			if err != nil {
				t.Fatalf("%v", err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %q", got, tt.want)
			}
		})
	}
	for _, name := range []string{"User", "Org", "Session", "UserPage", "Problem"} {
		t.Run("schema "+name, func(t *testing.T) {
			if _, err := pointer(doc, "#/components/schemas/"+name); err != nil {
				t.Errorf("components.schemas.%s: %v", name, err)
			}
		})
	}
}

func TestRoutesMatchTable(t *testing.T) {
	keys, err := Routes()
	if err != nil {
		t.Fatal(err)
	}
	inSpec := map[string]bool{}
	for _, k := range keys {
		if inSpec[k] {
			t.Errorf("spec lists %s twice", k)
		}
		inSpec[k] = true
	}
	inTable := map[string]bool{}
	for _, r := range routes.Table {
		inTable[r.Key()] = true
	}
	tests := []struct {
		name       string
		have, want map[string]bool
	}{
		{"missing from the spec", inSpec, inTable},
		{"in the spec but not in routes.Table", inTable, inSpec},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var diff []string
			for k := range tt.want {
				if !tt.have[k] {
					diff = append(diff, k)
				}
			}
			slices.Sort(diff)
			if len(diff) > 0 {
				t.Errorf("%s: %s", tt.name, strings.Join(diff, ", "))
			}
		})
	}
}

func TestSecurityMatchesPublic(t *testing.T) {
	doc := loadSpec(t)
	ops := operations(t, doc)
	schemes := object(t, object(t, doc["components"], "components")["securitySchemes"], "securitySchemes")
	for _, r := range routes.Table {
		t.Run(r.Key(), func(t *testing.T) {
			o, ok := ops[r.Key()]
			if !ok {
				t.Fatalf("%s is not in the spec", r.Key())
			}
			raw, ok := o.op["security"]
			if !ok {
				t.Fatal("operation has no security of its own")
			}
			reqs, ok := raw.([]any)
			if !ok {
				t.Fatalf("security is %T, want an array", raw)
			}
			if r.Public {
				if len(reqs) != 0 {
					t.Errorf("public route: security = %v, want []", reqs)
				}
				return
			}
			if len(reqs) != 1 {
				t.Fatalf("security = %v, want [{bearerAuth: []}]", reqs)
			}
			req := object(t, reqs[0], "security[0]")
			if _, ok := req["bearerAuth"]; !ok || len(req) != 1 {
				t.Errorf("security = %v, want [{bearerAuth: []}]", reqs)
			}
			for name := range req {
				if _, ok := schemes[name]; !ok {
					t.Errorf("security scheme %q is not defined", name)
				}
			}
		})
	}
}

func TestRefsResolve(t *testing.T) {
	doc := loadSpec(t)
	var sites []refSite
	collectRefs(doc, "#", &sites)
	if len(sites) == 0 {
		t.Fatal("no $ref found; the walk is broken")
	}
	for _, s := range sites {
		t.Run(s.at, func(t *testing.T) {
			if _, err := pointer(doc, s.ref); err != nil {
				t.Errorf("$ref %q does not resolve: %v", s.ref, err)
			}
		})
	}
}

var templateParam = regexp.MustCompile(`\{([^{}]+)\}`)

func TestPathParamsDeclared(t *testing.T) {
	doc := loadSpec(t)
	ops := operations(t, doc)
	for _, key := range slices.Sorted(maps.Keys(ops)) {
		o := ops[key]
		t.Run(key, func(t *testing.T) {
			declared := map[string]bool{}
			for _, where := range []map[string]any{o.item, o.op} {
				list, _ := where["parameters"].([]any)
				for _, raw := range list {
					p := deref(t, doc, raw)
					if p["in"] != "path" {
						continue
					}
					name, _ := p["name"].(string)
					declared[name] = true
					if p["required"] != true {
						t.Errorf("path parameter %q is not required: true", name)
					}
				}
			}
			inTemplate := map[string]bool{}
			for _, m := range templateParam.FindAllStringSubmatch(o.path, -1) {
				inTemplate[m[1]] = true
				if !declared[m[1]] {
					t.Errorf("path parameter {%s} is not declared", m[1])
				}
			}
			for name := range declared {
				if !inTemplate[name] {
					t.Errorf("path parameter %q is declared but not in the template", name)
				}
			}
		})
	}
}

func TestOperationsWellFormed(t *testing.T) {
	doc := loadSpec(t)
	ops := operations(t, doc)
	tags := map[string]bool{} // the tags the document declares
	for _, tag := range doc["tags"].([]any) {
		tags[tag.(map[string]any)["name"].(string)] = true
	}
	seenIDs := map[string]string{}
	for _, key := range slices.Sorted(maps.Keys(ops)) {
		o := ops[key]
		t.Run(key, func(t *testing.T) {
			id, _ := o.op["operationId"].(string)
			if id == "" {
				t.Error("no operationId")
			} else if prev, dup := seenIDs[id]; dup {
				t.Errorf("operationId %q also used by %s", id, prev)
			}
			seenIDs[id] = key
			if s, _ := o.op["summary"].(string); s == "" {
				t.Error("no summary")
			}
			opTags, _ := o.op["tags"].([]any)
			if len(opTags) == 0 {
				t.Error("no tags")
			}
			for _, tag := range opTags {
				if s, _ := tag.(string); !tags[s] {
					t.Errorf("tag %v is not one of Auth, Org, Users", tag)
				}
			}
			responses := object(t, o.op["responses"], "responses")
			success := 0
			for code, raw := range responses {
				resp := deref(t, doc, raw)
				switch {
				case strings.HasPrefix(code, "2"), strings.HasPrefix(code, "3"): // a redirect (an OAuth callback) answers the browser too
					success++
				case strings.HasPrefix(code, "4"), strings.HasPrefix(code, "5"):
					content, _ := resp["content"].(map[string]any)
					if _, ok := content["application/problem+json"]; !ok {
						t.Errorf("response %s is not application/problem+json", code)
					}
				}
				if code == "429" {
					headers, _ := resp["headers"].(map[string]any)
					if _, ok := headers["Retry-After"]; !ok {
						t.Error("response 429 does not document Retry-After")
					}
				}
			}
			if success == 0 {
				t.Error("no 2xx response")
			}
		})
	}
}
