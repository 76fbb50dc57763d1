// Package openapi holds the machine-readable OpenAPI 3.1 description of the
// Matterly app API (openapi.json), embedded so tools and tests can serve or
// check it. It describes exactly the routes of routes.Table; the tests keep
// the two in step.
package openapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Spec is the OpenAPI 3.1.0 document of the app API, as JSON. Treat it as
// read-only: it is shared by every caller.
//
//go:embed openapi.json
var Spec []byte

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
