// Package dropboxsigntest is a stand-in for Dropbox Sign's API v3, for the
// end-to-end tests and make dev (scripts/dropboxsignfake): it refuses any
// call without the API key as the Basic auth user name, keeps the exact
// multipart form of each send, and serves each request's signed PDF after
// answering 409 (still being prepared) once, as Dropbox Sign does while it
// prepares the file.
package dropboxsigntest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Sent is one send as the stand-in received it.
type Sent struct {
	Fields   map[string]string // every form field but the file
	FileName string
	FileType string
	File     []byte
}

// Server is the stand-in. Its zero value is not usable: see New.
type Server struct {
	key      string
	mu       sync.Mutex
	n        int
	sent     map[string]Sent // by signature_request_id
	files    map[string]int  // downloads asked, by signature_request_id
	canceled []string
	reminded []string // id + " " + email
}

// New returns a stand-in that accepts apiKey.
func New(apiKey string) *Server {
	return &Server{key: apiKey, sent: map[string]Sent{}, files: map[string]int{}}
}

// SignedPDF is what the stand-in serves as request id's signed file.
func SignedPDF(id string) []byte {
	return []byte("%PDF-1.7\n% signed copy of " + id + "\n%%EOF\n")
}

func (f *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != f.key || pass != "" {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"error_msg":"Unauthorized api key","error_name":"unauthorized"}}`)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == "POST" && r.URL.Path == "/v3/signature_request/send":
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"error_msg":"not multipart/form-data","error_name":"bad_request"}}`)
			return
		}
		form := Sent{Fields: map[string]string{}}
		for k, v := range r.MultipartForm.Value {
			form.Fields[k] = v[0]
		}
		if fh := r.MultipartForm.File["file[0]"]; len(fh) == 1 {
			form.FileName, form.FileType = fh[0].Filename, fh[0].Header.Get("Content-Type")
			if fd, err := fh[0].Open(); err == nil {
				form.File, _ = io.ReadAll(fd)
				_ = fd.Close()
			}
		}
		f.n++
		id := fmt.Sprintf("fa%038d", f.n)
		f.sent[id] = form
		var sigs []map[string]any
		for i := 0; ; i++ {
			email, ok := form.Fields[fmt.Sprintf("signers[%d][email_address]", i)]
			if !ok {
				break
			}
			sigs = append(sigs, map[string]any{"signature_id": SignatureID(i, id), "signer_email_address": email, "status_code": "awaiting_signature"})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"signature_request": map[string]any{"signature_request_id": id, "signatures": sigs}})
	case r.Method == "POST" && strings.HasPrefix(r.URL.Path, "/v3/signature_request/cancel/"):
		f.canceled = append(f.canceled, strings.TrimPrefix(r.URL.Path, "/v3/signature_request/cancel/"))
	case r.Method == "POST" && strings.HasPrefix(r.URL.Path, "/v3/signature_request/remind/"):
		var in struct {
			Email string `json:"email_address"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		f.reminded = append(f.reminded, strings.TrimPrefix(r.URL.Path, "/v3/signature_request/remind/")+" "+in.Email)
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v3/signature_request/files/") && r.URL.Query().Get("file_type") == "pdf":
		id := strings.TrimPrefix(r.URL.Path, "/v3/signature_request/files/")
		if _, ok := f.sent[id]; !ok {
			http.NotFound(w, r)
			return
		}
		f.files[id]++
		if f.files[id] == 1 {
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"error":{"error_msg":"Files are still being processed. Please try again later.","error_name":"conflict"}}`)
			return
		}
		w.Header().Set("Content-Type", "application/pdf")
		_, _ = w.Write(SignedPDF(id))
	default:
		http.NotFound(w, r)
	}
}

// SignatureID is the stand-in's signature_id of signer i of request id.
func SignatureID(i int, id string) string { return fmt.Sprintf("sig%d_%s", i, id) }

// Sends counts the sends received.
func (f *Server) Sends() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// Form is the send that made request id.
func (f *Server) Form(id string) Sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sent[id]
}

// Downloads counts the downloads of request id's file asked for.
func (f *Server) Downloads(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.files[id]
}

// ProviderIDOf is the id the stand-in gave the send whose metadata names
// Matterly's request id ("" when none).
func (f *Server) ProviderIDOf(requestID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for pid, form := range f.sent {
		if form.Fields["metadata[matterlyRequestId]"] == requestID {
			return pid
		}
	}
	return ""
}

// SendsOf counts the sends whose metadata names Matterly's request id.
func (f *Server) SendsOf(requestID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, form := range f.sent {
		if form.Fields["metadata[matterlyRequestId]"] == requestID {
			n++
		}
	}
	return n
}

// Canceled and Reminded list the cancels and reminders received (a
// reminder as "<id> <email>").
func (f *Server) Canceled() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.canceled...)
}

// Reminded lists the reminders received, each "<id> <email>".
func (f *Server) Reminded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reminded...)
}
