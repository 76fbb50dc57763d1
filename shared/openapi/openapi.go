// Package openapi holds the machine-readable OpenAPI 3.1 description of the
// Matterly app API (openapi.json), embedded so tools and tests can serve or
// check it. It describes exactly the routes of routes.Table; the tests keep
// the two in step.
package openapi

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// Spec is the OpenAPI 3.1.0 document of the app API, as JSON: openapi.json
// with the path and schema fragments of each capability (paths/*.json)
// merged in. Treat it as read-only: it is shared by every caller.
var Spec = mustMerge()

//go:embed openapi.json paths
var files embed.FS

// mustMerge adds every paths/*.json fragment ({"paths": {...}, "components":
// {"schemas": {...}}}) to the base document, so each capability keeps its
// part of the spec in its own file. A fragment that redefines a path or a
// schema is a programming error.
func mustMerge() []byte {
	var doc map[string]any
	base, _ := files.ReadFile("openapi.json")
	if err := json.Unmarshal(base, &doc); err != nil {
		panic(fmt.Sprintf("openapi: openapi.json: %v", err))
	}
	frags, _ := fs.Glob(files, "paths/*.json")
	for _, name := range frags {
		raw, _ := files.ReadFile(name)
		var frag map[string]any
		if err := json.Unmarshal(raw, &frag); err != nil {
			panic(fmt.Sprintf("openapi: %s: %v", name, err))
		}
		mergeInto(doc, "paths", frag["paths"], name)
		fc, _ := frag["components"].(map[string]any)
		dc, _ := doc["components"].(map[string]any)
		for section, v := range fc {
			mergeInto(dc, section, v, name)
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return out
}

func mergeInto(dst map[string]any, key string, src any, file string) {
	add, _ := src.(map[string]any)
	if len(add) == 0 {
		return
	}
	into, _ := dst[key].(map[string]any)
	if into == nil {
		into = map[string]any{}
		dst[key] = into
	}
	for k, v := range add {
		if _, dup := into[k]; dup {
			panic(fmt.Sprintf("openapi: %s redefines %s %s", file, key, k))
		}
		into[k] = v
	}
}

// methods are the Path Item fields that name an operation.
var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Routes returns the route keys the spec describes, "METHOD /path" as in
// routes.Route.Key (e.g. "PATCH /v1/users/{userId}"), sorted.
func Routes() ([]string, error) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(Spec, &doc); err != nil {
		return nil, fmt.Errorf("openapi: parse spec: %w", err)
	}
	var keys []string
	for path, item := range doc.Paths {
		for field := range item {
			if slices.Contains(methods, field) {
				keys = append(keys, strings.ToUpper(field)+" "+path)
			}
		}
	}
	slices.Sort(keys)
	return keys, nil
}
