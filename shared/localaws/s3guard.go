package localaws

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// DevOrigins are the browser origins of the dev app (make dev's
// CORS_ORIGINS), the only ones the S3 stand-in answers CORS for.
var DevOrigins = []string{"http://localhost:5173", "http://127.0.0.1:5173"}

// The bucket's CORS rule, as infra sets it (infra/stack.go): PUT, GET and
// HEAD, these request headers, ETag exposed.
var (
	s3CORSMethods = []string{"PUT", "GET", "HEAD"}
	s3CORSHeaders = []string{"content-type", "x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id"}
)

// s3Guard stands in for what S3 does before gofakes3 sees a request:
//
//   - It refuses requests that are not signed at all (neither an
//     Authorization header nor a presigned URL's X-Amz-Signature) with S3's
//     403 AccessDenied: the bucket is private. Signatures are not checked
//     (see S3's doc comment); a page that can reach loopback still cannot
//     list or read the bucket without one.
//   - It answers CORS as the bucket's CORS rule does: only for the
//     configured origins, never with *. gofakes3's own CORS headers
//     (Access-Control-Allow-Origin: * on everything) are removed.
type s3Guard struct {
	next    http.Handler
	origins []string
}

func (g s3Guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	allowed := origin != "" && slices.Contains(g.origins, origin)
	if origin != "" {
		w.Header().Add("Vary", "Origin")
	}
	if r.Method == http.MethodOptions && origin != "" && r.Header.Get("Access-Control-Request-Method") != "" {
		g.preflight(w, r, allowed)
		return
	}
	if r.Header.Get("Authorization") == "" && r.URL.Query().Get("X-Amz-Signature") == "" {
		if allowed {
			setCORS(w.Header(), origin)
		}
		s3Error(w, http.StatusForbidden, "AccessDenied", "Access Denied")
		return
	}
	cw := &corsWriter{ResponseWriter: w}
	if allowed {
		cw.origin = origin
	}
	g.next.ServeHTTP(cw, r)
	cw.fix() // a handler that wrote nothing: the header goes out after this
}

// preflight answers an OPTIONS preflight as S3 does for the bucket's rule:
// 403 AccessForbidden when origin, method or a header is not allowed.
func (g s3Guard) preflight(w http.ResponseWriter, r *http.Request, allowed bool) {
	method := r.Header.Get("Access-Control-Request-Method")
	ok := allowed && slices.Contains(s3CORSMethods, method)
	var asked []string
	for _, h := range strings.Split(r.Header.Get("Access-Control-Request-Headers"), ",") {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			asked = append(asked, h)
			ok = ok && slices.Contains(s3CORSHeaders, h)
		}
	}
	if !ok {
		s3Error(w, http.StatusForbidden, "AccessForbidden", "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")
		return
	}
	h := w.Header()
	setCORS(h, r.Header.Get("Origin"))
	h.Set("Access-Control-Allow-Methods", method)
	if len(asked) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(asked, ", "))
	}
	w.WriteHeader(http.StatusOK)
}

func setCORS(h http.Header, origin string) {
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", "ETag")
}

// s3Error writes S3's XML error document.
func s3Error(w http.ResponseWriter, status int, code, msg string) {
	var id [8]byte
	_, _ = rand.Read(id[:])
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId></Error>",
		code, msg, strings.ToUpper(hex.EncodeToString(id[:])))
}

// corsWriter drops the CORS headers gofakes3 sets and, for an allowed
// origin, sets the bucket rule's instead, just before the header goes out.
type corsWriter struct {
	http.ResponseWriter
	origin string // "" when not allowed
	done   bool
}

func (c *corsWriter) fix() {
	if c.done {
		return
	}
	c.done = true
	h := c.Header()
	for k := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			delete(h, k)
		}
	}
	if c.origin != "" {
		setCORS(h, c.origin)
	}
}

func (c *corsWriter) WriteHeader(status int) {
	c.fix()
	c.ResponseWriter.WriteHeader(status)
}

func (c *corsWriter) Write(b []byte) (int, error) {
	c.fix()
	return c.ResponseWriter.Write(b)
}
