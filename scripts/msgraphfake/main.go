// Command msgraphfake serves a local stand-in for Microsoft's login and
// Graph calendar API (shared/providers/msgraph/msgraphtest, the tests'
// stand-in) for make dev:
//
//	go run ./scripts/msgraphfake &
//	MS_CLIENT_ID=dev-app MS_CLIENT_SECRET=dev-secret MS_LOGIN_BASE_URL=http://127.0.0.1:8092 \
//	  MS_GRAPH_BASE_URL=http://127.0.0.1:8092 make dev
//
// Nothing leaves the machine. Besides login and Graph it serves /fake/,
// which plays "Outlook": add a user (the next one to sign in), change or
// delete their events, each change followed by Graph's change notification
// to every subscription of that user, as Graph would post it.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/matterly/matterly/shared/providers/msgraph/msgraphtest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8092", "listen address")
	client := flag.String("client-id", "dev-app", "the app's client id (MS_CLIENT_ID)")
	secret := flag.String("client-secret", "dev-secret", "the app's client secret (MS_CLIENT_SECRET)")
	flag.Parse()
	fake := msgraphtest.New(*client, *secret, nil)
	fake.Base = "http://" + *addr
	seed(fake)
	mux := http.NewServeMux()
	mux.Handle("/", fake)
	mux.HandleFunc("POST /fake/users", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ ID, Email, Name string }
		if json.NewDecoder(r.Body).Decode(&in) != nil || in.ID == "" || in.Email == "" {
			http.Error(w, `want {"id","email","name"}`, http.StatusBadRequest)
			return
		}
		cal := fake.AddUser(in.ID, in.Email, in.Name)
		writeJSON(w, map[string]string{"user": in.ID, "calendar": cal, "note": "signs in at the next connect"})
	})
	mux.HandleFunc("POST /fake/users/{user}/events", func(w http.ResponseWriter, r *http.Request) {
		user := r.PathValue("user")
		var in struct {
			ID, Subject, Location, ShowAs, Sensitivity string
			Start, End                                 time.Time
		}
		if json.NewDecoder(r.Body).Decode(&in) != nil || in.ID == "" || !in.End.After(in.Start) {
			http.Error(w, `want {"id","subject","start","end"} (RFC 3339)`, http.StatusBadRequest)
			return
		}
		fake.Put(user, "cal-"+user, msgraphtest.Event{ID: in.ID, Subject: in.Subject, Location: in.Location, ShowAs: in.ShowAs,
			Sensitivity: in.Sensitivity, Start: in.Start, End: in.End})
		writeJSON(w, map[string]any{"notified": notify(fake, user)})
	})
	mux.HandleFunc("DELETE /fake/users/{user}/events/{id}", func(w http.ResponseWriter, r *http.Request) {
		fake.Remove(r.PathValue("user"), "cal-"+r.PathValue("user"), r.PathValue("id"))
		writeJSON(w, map[string]any{"notified": notify(fake, r.PathValue("user"))})
	})
	mux.HandleFunc("GET /fake/users/{user}/events", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, fake.Events(r.PathValue("user"), "cal-"+r.PathValue("user")))
	})
	log.Printf("Microsoft login and Graph stand-in on http://%s: set MS_CLIENT_ID=%s MS_CLIENT_SECRET=%s MS_LOGIN_BASE_URL=http://%s MS_GRAPH_BASE_URL=http://%s",
		*addr, *client, *secret, *addr, *addr)
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// seed adds the user "dev" (the first to sign in) with a few meetings
// this week and a weekly series.
func seed(fake *msgraphtest.Server) {
	cal := fake.AddUser("dev", "dev@contoso.example", "Dana Dev")
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	fake.Put("dev", cal, msgraphtest.Event{ID: "kickoff", Subject: "Kickoff", Start: day.Add(14 * time.Hour), End: day.Add(15 * time.Hour), Location: "Room 1"})
	fake.Put("dev", cal, msgraphtest.Event{ID: "dentist", Subject: "Dentist", Start: day.Add(17 * time.Hour), End: day.Add(18 * time.Hour), Sensitivity: "private"})
	fake.AddWeekly("dev", cal, "standup", "Weekly standup", day.Add(13*time.Hour), 30*time.Minute, 8)
}

// notify posts a change notification to each subscription of user.
func notify(fake *msgraphtest.Server, user string) int {
	n := 0
	for _, s := range fake.Subscriptions() {
		if s.User != user {
			continue
		}
		body, _ := json.Marshal(map[string]any{"value": []map[string]any{{"subscriptionId": s.ID, "clientState": s.ClientState,
			"changeType": "updated", "resource": strings.TrimPrefix(s.Resource, "/")}}})
		resp, err := http.Post(s.NotificationURL, "application/json", bytes.NewReader(body))
		if err != nil {
			log.Printf("notification to %s: %v", s.NotificationURL, err)
			continue
		}
		resp.Body.Close()
		log.Printf("notified %s: %d", s.NotificationURL, resp.StatusCode)
		n++
	}
	return n
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		fmt.Println(err)
	}
}
