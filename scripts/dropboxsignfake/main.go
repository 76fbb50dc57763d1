// Command dropboxsignfake serves a local stand-in for Dropbox Sign's API v3
// (shared/providers/dropboxsign/dropboxsigntest) for make dev:
//
//	go run ./scripts/dropboxsignfake &
//	DROPBOX_SIGN_API_KEY=dev_dropbox_sign_key DROPBOX_SIGN_API_BASE_URL=http://127.0.0.1:8091 make dev
//
// Nothing leaves the machine; callbacks are posted by hand (README).
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/matterly/matterly/shared/providers/dropboxsign/dropboxsigntest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8091", "listen address")
	key := flag.String("key", "dev_dropbox_sign_key", "the API key it accepts (DROPBOX_SIGN_API_KEY)")
	flag.Parse()
	log.Printf("Dropbox Sign stand-in on http://%s: set DROPBOX_SIGN_API_KEY=%s DROPBOX_SIGN_API_BASE_URL=http://%s", *addr, *key, *addr)
	srv := &http.Server{Addr: *addr, Handler: dropboxsigntest.New(*key), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
