package messaging

import (
	"context"
	"errors"
	"html"
	"net/http"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// The client's pages: the unsubscribe link of every email and the double
// opt-in link of a confirmation request. A GET only shows a page with a
// button; the POST it makes acts. Mail scanners and link previewers open
// links (GET) without a person; a POST is a person, or for unsubscribe a
// mail client's RFC 8058 one-click POST, which List-Unsubscribe-Post
// promises works without a page.

// pageHeaders fit the pages: no script, no resource, inline style only,
// forms posting back to us, never framed (clickjacking a consent button),
// and no Referer carrying the token anywhere.
var pageHeaders = map[string]string{
	"Content-Type":            "text/html; charset=utf-8",
	"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Frame-Options":         "DENY",
	"Referrer-Policy":         "no-referrer",
}

// page answers an HTML page: a title, a message and, when button is set,
// a form that POSTs to the page's own URL (the token rides in the query;
// with no action attribute a form submits to the document's URL). The
// hidden field is RFC 8058's one-click body; the confirm page's POST sends
// it too, and no handler reads a body.
func page(title, message, button string) *httpapi.Response {
	body := "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content=\"width=device-width\">" +
		"<title>" + html.EscapeString(title) + "</title><style>body{font:16px/1.5 sans-serif;max-width:32em;margin:3em auto;padding:0 1em}" +
		"button{font:inherit;padding:.5em 1.2em}</style><h1>" + html.EscapeString(title) + "</h1><p>" + html.EscapeString(message) + "</p>"
	if button != "" {
		body += "<form method=post><input type=hidden name=List-Unsubscribe value=One-Click><button type=submit>" + html.EscapeString(button) + "</button></form>"
	}
	r := httpapi.Text(http.StatusOK, pageHeaders["Content-Type"], body)
	for k, v := range pageHeaders {
		r.Headers[k] = v
	}
	return r
}

// handlePages serves the client pages and the route that sends a
// confirmation request.
func handlePages(rt *httpapi.Router, svc *Service) {
	rt.Handle("GET /unsubscribe", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		_, _, name, err := svc.unsubscribeTarget(ctx, r.Query("token"))
		if err != nil {
			return nil, err
		}
		return page("Unsubscribe", "Stop emails from "+name+"? Nothing changes until you press the button.", "Unsubscribe"), nil
	})
	// The page's button, and RFC 8058 one-click from List-Unsubscribe-Post.
	rt.Handle("POST /unsubscribe", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		name, err := svc.Unsubscribe(ctx, r.Query("token"))
		if err != nil {
			return nil, err
		}
		return page("Unsubscribed", "You will receive no more emails from "+name+".", ""), nil
	})
	rt.Handle("GET /consent/confirm", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		c, o, _, err := svc.confirmation(ctx, r.Query("token"))
		if err != nil {
			return nil, err
		}
		what := "text messages at " + c.Address
		if c.Channel == Email {
			what = "emails at " + c.Address
		}
		return page("Confirm", "Do you want "+what+" from "+o.Name+" again? Nothing changes until you press the button.", "Yes, send them again"), nil
	})
	rt.Handle("POST /consent/confirm", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		name, err := svc.Confirm(ctx, r.Query("token"))
		if err != nil {
			return nil, err
		}
		return page("Confirmed", name+" may message you again. You can opt out at any time.", ""), nil
	})
	rt.Handle("POST /v1/consent/confirmations", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.OptInConsent, func(in ConfirmationInput) (any, error) {
			return svc.RequestConfirmation(ctx, r.Principal, in)
		}, http.StatusAccepted)
	})
}

// unsubscribeTarget checks an unsubscribe token and reads the org it names.
func (s *Service) unsubscribeTarget(ctx context.Context, token string) (orgID, addr, name string, err error) {
	orgID, addr, ok := s.openUnsubscribe(token)
	if !ok {
		return "", "", "", fault.E(fault.Malformed, "This unsubscribe link is not valid; copy the whole link from the email.")
	}
	var o org
	if err := s.DB.Get(ctx, tenant.PK(orgID), tenant.OrgSK, &o); errors.Is(err, store.ErrNotFound) {
		return "", "", "", fault.E(fault.NotFound, "This unsubscribe link is no longer valid.")
	} else if err != nil {
		return "", "", "", err
	}
	return orgID, addr, o.Name, nil
}
