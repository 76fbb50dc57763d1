// Command giphyfake serves a local stand-in for the Giphy API
// (shared/providers/giphy/giphytest) for make dev:
//
//	go run ./scripts/giphyfake &
//	GIPHY_API_KEY=dev_giphy_key GIPHY_API_BASE_URL=http://127.0.0.1:8092 make dev
//
// It answers any search with up to three GIFs and knows every id that
// starts with "gif"; nothing leaves the machine.
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"github.com/matterly/matterly/shared/providers/giphy/giphytest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8092", "listen address")
	key := flag.String("key", "dev_giphy_key", "the API key it accepts (GIPHY_API_KEY)")
	flag.Parse()
	log.Printf("Giphy stand-in on http://%s: set GIPHY_API_KEY=%s GIPHY_API_BASE_URL=http://%s", *addr, *key, *addr)
	srv := &http.Server{Addr: *addr, Handler: giphytest.New(*key), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
