// Package dropboxsign is the e-signature provider of shared/esign: Dropbox
// Sign's API v3 over net/http (its SDK adds nothing the four calls need).
// Requests authenticate with HTTP Basic auth, the API key as user name and
// an empty password. Document bytes go to Dropbox Sign and nowhere else:
// errors carry Dropbox Sign's error message and status, never a file.
package dropboxsign

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/matterly/matterly/shared/esign"
)

// DefaultBaseURL is Dropbox Sign itself.
const DefaultBaseURL = "https://api.hellosign.com"

// callTimeout bounds one call; sends carry a file of up to the documents'
// size limit, downloads a signed PDF.
const callTimeout = 45 * time.Second

// maxFile bounds a downloaded signed PDF (Dropbox Sign takes files of up to
// 40 MB; signing adds pages, not multiples).
const maxFile = 100 << 20

// Config is how the client reaches Dropbox Sign.
type Config struct {
	APIKey   string
	BaseURL  string // "" is DefaultBaseURL
	ClientID string // the API app, sent as client_id when set
	TestMode bool   // test_mode=1: requests are not legally binding and not billed
}

// Client is a Dropbox Sign API client, safe for concurrent use.
type Client struct {
	cfg  Config
	base string
	http *http.Client
}

var _ esign.Provider = (*Client)(nil)

// New returns a client; nil when the API key is not set, so callers answer
// 503 saying what to set.
func New(cfg Config) *Client {
	if cfg.APIKey == "" {
		return nil
	}
	base := strings.TrimSuffix(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	return &Client{cfg: cfg, base: base, http: &http.Client{Timeout: callTimeout}}
}

// Send posts POST /v3/signature_request/send as multipart/form-data.
func (c *Client) Send(ctx context.Context, req esign.SendRequest) (esign.Sent, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file[0]"; filename=%q`, req.FileName))
	h.Set("Content-Type", req.ContentType)
	part, err := w.CreatePart(h)
	if err != nil {
		return esign.Sent{}, err
	}
	if _, err := part.Write(req.File); err != nil {
		return esign.Sent{}, err
	}
	field := func(k, v string) {
		if err == nil {
			err = w.WriteField(k, v)
		}
	}
	field("title", req.Title)
	if req.Subject != "" {
		field("subject", req.Subject)
	}
	if req.Message != "" {
		field("message", req.Message)
	}
	for i, s := range req.Signers {
		p := "signers[" + strconv.Itoa(i) + "]"
		field(p+"[name]", s.Name)
		field(p+"[email_address]", s.Email)
		if req.Ordered {
			field(p+"[order]", strconv.Itoa(s.Order))
		}
	}
	for _, k := range sortedKeys(req.Metadata) {
		field("metadata["+k+"]", req.Metadata[k])
	}
	if c.cfg.TestMode {
		field("test_mode", "1")
	}
	if c.cfg.ClientID != "" {
		field("client_id", c.cfg.ClientID)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return esign.Sent{}, err
	}
	var out struct {
		SignatureRequest struct {
			ID         string `json:"signature_request_id"`
			Signatures []struct {
				SignatureID string `json:"signature_id"`
				Email       string `json:"signer_email_address"`
				Status      string `json:"status_code"`
			} `json:"signatures"`
		} `json:"signature_request"`
	}
	body, err := c.do(ctx, "send", http.MethodPost, "/v3/signature_request/send", w.FormDataContentType(), &buf)
	if err != nil {
		return esign.Sent{}, err
	}
	if err := json.Unmarshal(body, &out); err != nil || out.SignatureRequest.ID == "" {
		return esign.Sent{}, &esign.ProviderError{Op: "send", Status: http.StatusOK, Message: "unreadable answer", Err: err}
	}
	sent := esign.Sent{RequestID: out.SignatureRequest.ID}
	for _, s := range out.SignatureRequest.Signatures {
		sent.Signers = append(sent.Signers, esign.SentSigner{SignatureID: s.SignatureID, Email: s.Email, Status: s.Status})
	}
	return sent, nil
}

// Cancel posts POST /v3/signature_request/cancel/{id}.
func (c *Client) Cancel(ctx context.Context, requestID string) error {
	_, err := c.do(ctx, "cancel", http.MethodPost, "/v3/signature_request/cancel/"+url.PathEscape(requestID), "", nil)
	return err
}

// Remind posts POST /v3/signature_request/remind/{id} for one signer.
func (c *Client) Remind(ctx context.Context, requestID, email string) error {
	b, err := json.Marshal(map[string]string{"email_address": email})
	if err != nil {
		return err
	}
	_, err = c.do(ctx, "remind", http.MethodPost, "/v3/signature_request/remind/"+url.PathEscape(requestID), "application/json", bytes.NewReader(b))
	return err
}

// SignedPDF gets GET /v3/signature_request/files/{id}?file_type=pdf; a 409
// (the file is still being prepared) is esign.ErrNotReady.
func (c *Client) SignedPDF(ctx context.Context, requestID string) ([]byte, error) {
	return c.do(ctx, "files", http.MethodGet, "/v3/signature_request/files/"+url.PathEscape(requestID)+"?file_type=pdf", "", nil)
}

func (c *Client) do(ctx context.Context, op, method, path, contentType string, body io.Reader) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(c.cfg.APIKey, "")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &esign.ProviderError{Op: op, Retryable: true, Message: "no answer", Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxFile+1))
	if err != nil {
		return nil, &esign.ProviderError{Op: op, Status: resp.StatusCode, Retryable: true, Message: "answer cut short", Err: err}
	}
	if len(b) > maxFile {
		return nil, &esign.ProviderError{Op: op, Status: resp.StatusCode, Message: "answer over " + strconv.Itoa(maxFile>>20) + " MB"}
	}
	if resp.StatusCode/100 == 2 {
		return b, nil
	}
	pe := &esign.ProviderError{Op: op, Status: resp.StatusCode, Retryable: resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500}
	var e struct {
		Error struct {
			Msg  string `json:"error_msg"`
			Name string `json:"error_name"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error.Name != "" {
		pe.Message = e.Error.Name + ": " + e.Error.Msg
	} else {
		pe.Message = http.StatusText(resp.StatusCode)
	}
	if resp.StatusCode == http.StatusConflict && op == "files" {
		pe.Retryable, pe.Err = true, esign.ErrNotReady
	}
	return nil, pe
}

// sortedKeys keeps the form's field order stable (tests compare it).
func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
