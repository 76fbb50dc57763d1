package localaws

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// localServer is a real HTTP server on 127.0.0.1:0 for a stand-in, so
// clients go through the same HTTP stack as in AWS.
type localServer struct {
	srv *http.Server
	url string

	mu    sync.Mutex
	fresh map[net.Conn]bool // connections that have not sent a request yet
}

func startLocalServer(h http.Handler) (*localServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &localServer{url: "http://" + ln.Addr().String(), fresh: map[net.Conn]bool{}}
	s.srv = &http.Server{Handler: LoopbackOnly(h), ReadHeaderTimeout: 10 * time.Second, ConnState: s.track}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *localServer) track(c net.Conn, st http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st == http.StateNew {
		s.fresh[c] = true
	} else {
		delete(s.fresh, c)
	}
}

// close stops the server, letting requests in progress finish. It closes
// the connections that never carried a request itself: the HTTP client
// dials spare ones under concurrent load, and Shutdown waits up to five
// seconds for those, since it cannot tell them from a request about to
// arrive.
func (s *localServer) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.srv.Shutdown(ctx) }()
	s.mu.Lock()
	for c := range s.fresh {
		_ = c.Close()
	}
	s.mu.Unlock()
	return <-done
}

// LoopbackOnly refuses requests whose Host header does not name this
// machine's loopback: a web page could otherwise point a DNS name at
// 127.0.0.1 (DNS rebinding) and reach the local stand-ins and their data.
func LoopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !IsLoopbackHost(r.Host) {
			http.Error(w, "only loopback hosts may call the local stand-ins", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// IsLoopbackHost reports whether a Host header ("localhost:8080",
// "127.0.0.1", "[::1]:9000") names this machine's loopback.
func IsLoopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
