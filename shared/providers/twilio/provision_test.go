package twilio

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"
)

// request is one request the fake Twilio received.
type request struct {
	method, path string
	query, form  url.Values
}

// fakeAccount answers by method and path with a status and a JSON body,
// recording every request.
func fakeAccount(t *testing.T, answers map[string]struct {
	status int
	body   string
}) (*httptest.Server, *[]request) {
	t.Helper()
	var got []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(raw))
		if u, p, ok := r.BasicAuth(); !ok || u != testSID || p != testToken {
			t.Errorf("%s %s: basic auth %q/%q", r.Method, r.URL.Path, u, p)
		}
		got = append(got, request{r.Method, r.URL.Path, r.URL.Query(), form})
		a, ok := answers[r.Method+" "+r.URL.Path]
		if !ok {
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			w.WriteHeader(404)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

const accountPath = "/2010-04-01/Accounts/" + testSID

func TestBuyNumber(t *testing.T) {
	type answer = struct {
		status int
		body   string
	}
	available := answer{200, `{"available_phone_numbers":[{"friendly_name":"(415) 555-0142","phone_number":"+14155550142","iso_country":"US","capabilities":{"SMS":true,"MMS":true,"voice":true}}],"end":0,"first_page_uri":"","next_page_uri":null,"page":0,"page_size":1,"uri":""}`}
	none := answer{200, `{"available_phone_numbers":[],"page":0,"page_size":1}`}
	bought := answer{201, `{"sid":"PN0123456789abcdef0123456789abcdef","account_sid":"` + testSID + `","phone_number":"+14155550142","sms_url":"https://hooks.example/webhooks/twilio/sms","sms_method":"POST"}`}
	for _, tc := range []struct {
		name     string
		areaCode int
		list     answer
		buy      answer
		want     string
		wantErr  error
		wantCode int
		calls    []request
	}{
		{name: "area code", areaCode: 415, list: available, buy: bought, want: "+14155550142", calls: []request{
			{"GET", accountPath + "/AvailablePhoneNumbers/US/Local.json", url.Values{"AreaCode": {"415"}, "SmsEnabled": {"true"}, "PageSize": {"1"}}, url.Values{}},
			{"POST", accountPath + "/IncomingPhoneNumbers.json", url.Values{}, url.Values{"PhoneNumber": {"+14155550142"}, "SmsUrl": {"https://hooks.example/webhooks/twilio/sms"}, "SmsMethod": {"POST"}}},
		}},
		{name: "any area", list: available, buy: bought, want: "+14155550142", calls: []request{
			{"GET", accountPath + "/AvailablePhoneNumbers/US/Local.json", url.Values{"SmsEnabled": {"true"}, "PageSize": {"1"}}, url.Values{}},
			{"POST", accountPath + "/IncomingPhoneNumbers.json", url.Values{}, url.Values{"PhoneNumber": {"+14155550142"}, "SmsUrl": {"https://hooks.example/webhooks/twilio/sms"}, "SmsMethod": {"POST"}}},
		}},
		{name: "none available", areaCode: 999, list: none, buy: bought, wantErr: ErrNoNumbers, calls: []request{
			{"GET", accountPath + "/AvailablePhoneNumbers/US/Local.json", url.Values{"AreaCode": {"999"}, "SmsEnabled": {"true"}, "PageSize": {"1"}}, url.Values{}},
		}},
		{name: "purchase refused", list: available, buy: answer{400, twilioError(400, 21422, "PhoneNumber requested is not available")}, wantCode: 21422, calls: []request{
			{"GET", accountPath + "/AvailablePhoneNumbers/US/Local.json", url.Values{"SmsEnabled": {"true"}, "PageSize": {"1"}}, url.Values{}},
			{"POST", accountPath + "/IncomingPhoneNumbers.json", url.Values{}, url.Values{"PhoneNumber": {"+14155550142"}, "SmsUrl": {"https://hooks.example/webhooks/twilio/sms"}, "SmsMethod": {"POST"}}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, got := fakeAccount(t, map[string]answer{
				"GET " + accountPath + "/AvailablePhoneNumbers/US/Local.json": tc.list,
				"POST " + accountPath + "/IncomingPhoneNumbers.json":          tc.buy,
			})
			n, err := New(testSID, testToken, srv.URL).BuyNumber(context.Background(), tc.areaCode, "https://hooks.example/webhooks/twilio/sms")
			var se *SendError
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("err = %v, want %v", err, tc.wantErr)
				}
			case tc.wantCode != 0:
				if !errors.As(err, &se) || se.Code != tc.wantCode || se.Op != "buy number" {
					t.Errorf("err = %v, want a buy number error with code %d", err, tc.wantCode)
				}
			case err != nil || n != tc.want:
				t.Errorf("BuyNumber = %q, %v; want %q", n, err, tc.want)
			}
			if !reflect.DeepEqual(*got, tc.calls) {
				t.Errorf("requests:\n got %v\nwant %v", *got, tc.calls)
			}
		})
	}
}

func TestCreateMessagingService(t *testing.T) {
	type answer = struct {
		status int
		body   string
	}
	srv, got := fakeAccount(t, map[string]answer{
		"POST /v1/Services": {201, `{"sid":"MG0123456789abcdef0123456789abcdef","account_sid":"` + testSID + `","friendly_name":"Matterly org 01J","inbound_request_url":"https://hooks.example/webhooks/twilio/sms","inbound_method":"POST","use_inbound_webhook_on_number":false}`},
	})
	sid, err := New(testSID, testToken, srv.URL).CreateMessagingService(context.Background(), "Matterly org 01J", "https://hooks.example/webhooks/twilio/sms")
	if err != nil || sid != "MG0123456789abcdef0123456789abcdef" {
		t.Fatalf("CreateMessagingService = %q, %v", sid, err)
	}
	want := []request{{"POST", "/v1/Services", url.Values{}, url.Values{"FriendlyName": {"Matterly org 01J"},
		"InboundRequestUrl": {"https://hooks.example/webhooks/twilio/sms"}, "InboundMethod": {"POST"}, "UseInboundWebhookOnNumber": {"false"}}}}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("requests:\n got %v\nwant %v", *got, want)
	}
}
