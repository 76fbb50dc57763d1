package dropboxsign

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/matterly/matterly/shared/esign"
)

const key = "test-api-key"

// server is a Dropbox Sign stand-in that checks auth on every call and
// hands each request to handle.
func server(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != key || pass != "" {
			t.Errorf("basic auth = %q %q %v, want the API key as user name", user, pass, ok)
		}
		handle(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDropboxSignSendWireFormat(t *testing.T) {
	pdf := []byte("%PDF-1.7\nbody")
	tests := []struct {
		name     string
		cfg      Config
		ordered  bool
		subject  string
		want     map[string]string
		wantNone []string
	}{
		{name: "test mode, unordered, no client id", cfg: Config{TestMode: true}, subject: "Please sign",
			want: map[string]string{"title": "Engagement.pdf", "subject": "Please sign", "signers[0][name]": "Ann", "signers[0][email_address]": "ann@example.com",
				"signers[1][name]": "Bob", "signers[1][email_address]": "bob@example.com", "metadata[matterlyRequestId]": "R1", "metadata[orgId]": "O1", "test_mode": "1"},
			wantNone: []string{"signers[0][order]", "client_id", "message"}},
		{name: "live, ordered, client id", cfg: Config{ClientID: "app123"}, ordered: true,
			want: map[string]string{"title": "Engagement.pdf", "signers[0][order]": "0", "signers[1][order]": "1", "client_id": "app123",
				"signers[0][email_address]": "ann@example.com"},
			wantNone: []string{"test_mode", "subject"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := server(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != "/v3/signature_request/send" {
					t.Errorf("%s %s", r.Method, r.URL.Path)
				}
				if err := r.ParseMultipartForm(1 << 20); err != nil {
					t.Fatalf("not multipart: %v", err)
				}
				for k, v := range tc.want {
					if got := r.FormValue(k); got != v {
						t.Errorf("%s = %q, want %q", k, got, v)
					}
				}
				for _, k := range tc.wantNone {
					if _, ok := r.MultipartForm.Value[k]; ok {
						t.Errorf("%s sent, want none", k)
					}
				}
				fh := r.MultipartForm.File["file[0]"]
				if len(fh) != 1 || fh[0].Filename != "Engagement.pdf" || fh[0].Header.Get("Content-Type") != "application/pdf" {
					t.Fatalf("file[0] = %+v", fh)
				}
				f, _ := fh[0].Open()
				got, _ := io.ReadAll(f)
				if string(got) != string(pdf) {
					t.Errorf("file bytes differ")
				}
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(map[string]any{"signature_request": map[string]any{"signature_request_id": "sr1",
					"signatures": []map[string]string{{"signature_id": "s1", "signer_email_address": "ann@example.com", "status_code": "awaiting_signature"},
						{"signature_id": "s2", "signer_email_address": "bob@example.com", "status_code": "awaiting_signature"}}}})
			})
			cfg := tc.cfg
			cfg.APIKey, cfg.BaseURL = key, srv.URL
			sent, err := New(cfg).Send(context.Background(), esign.SendRequest{FileName: "Engagement.pdf", ContentType: "application/pdf", File: pdf,
				Title: "Engagement.pdf", Subject: tc.subject, Ordered: tc.ordered,
				Signers:  []esign.SendSigner{{Name: "Ann", Email: "ann@example.com", Order: 0}, {Name: "Bob", Email: "bob@example.com", Order: 1}},
				Metadata: map[string]string{"matterlyRequestId": "R1", "orgId": "O1"}})
			if err != nil {
				t.Fatal(err)
			}
			want := esign.Sent{RequestID: "sr1", Signers: []esign.SentSigner{{SignatureID: "s1", Email: "ann@example.com", Status: "awaiting_signature"},
				{SignatureID: "s2", Email: "bob@example.com", Status: "awaiting_signature"}}}
			if !reflect.DeepEqual(sent, want) {
				t.Errorf("sent = %+v", sent)
			}
		})
	}
}

func TestDropboxSignCallsAndErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		call      func(*Client) error
		wantPath  string
		wantRetry bool
		notReady  bool
	}{
		{name: "cancel", status: 200, wantPath: "POST /v3/signature_request/cancel/sr1", call: func(c *Client) error { return c.Cancel(context.Background(), "sr1") }},
		{name: "remind", status: 200, wantPath: "POST /v3/signature_request/remind/sr1", call: func(c *Client) error { return c.Remind(context.Background(), "sr1", "ann@example.com") }},
		{name: "files 409", status: 409, body: `{"error":{"error_msg":"Files are still being processed.","error_name":"conflict"}}`, wantRetry: true, notReady: true,
			wantPath: "GET /v3/signature_request/files/sr1", call: func(c *Client) error { _, err := c.SignedPDF(context.Background(), "sr1"); return err }},
		{name: "files 503", status: 503, wantRetry: true, wantPath: "GET /v3/signature_request/files/sr1",
			call: func(c *Client) error { _, err := c.SignedPDF(context.Background(), "sr1"); return err }},
		{name: "cancel refused", status: 400, body: `{"error":{"error_msg":"already complete","error_name":"bad_request"}}`,
			wantPath: "POST /v3/signature_request/cancel/sr1", call: func(c *Client) error { return c.Cancel(context.Background(), "sr1") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := server(t, func(w http.ResponseWriter, r *http.Request) {
				if got := r.Method + " " + r.URL.Path; got != tc.wantPath {
					t.Errorf("request %s, want %s", got, tc.wantPath)
				}
				if r.URL.Path == "/v3/signature_request/files/sr1" && r.URL.Query().Get("file_type") != "pdf" {
					t.Errorf("file_type = %q", r.URL.Query().Get("file_type"))
				}
				if tc.name == "remind" {
					var in map[string]string
					if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in["email_address"] != "ann@example.com" {
						t.Errorf("remind body %v %v", in, err)
					}
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			err := tc.call(New(Config{APIKey: key, BaseURL: srv.URL}))
			if tc.status == 200 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var pe *esign.ProviderError
			if !errors.As(err, &pe) || pe.Status != tc.status || pe.Retryable != tc.wantRetry {
				t.Fatalf("err = %#v", err)
			}
			if errors.Is(err, esign.ErrNotReady) != tc.notReady {
				t.Errorf("ErrNotReady = %v, want %v", !tc.notReady, tc.notReady)
			}
		})
	}
}

func TestDropboxSignUnconfigured(t *testing.T) {
	if New(Config{}) != nil {
		t.Fatal("a client without an API key")
	}
}
