package identity

import (
	"strings"
)

// Agent is what a session list shows of a User-Agent header.
type Agent struct {
	Browser string // "Chrome 126", "Safari 17", "Firefox 127", ...
	OS      string // "Windows", "macOS", "iOS", "iPadOS", "Android", "ChromeOS", "Linux"
	Device  string // "desktop", "mobile", "tablet", "other"
}

// unknown names what a header does not tell.
const unknown = "Unknown"

// browsers are checked in order: most browsers also name the engines they
// descend from (Edge says Chrome and Safari, Chrome says Safari), so the
// most specific token comes first. version is the token whose number is the
// browser's version.
var browsers = []struct{ token, name, version string }{
	{"Edg/", "Edge", "Edg/"},
	{"EdgiOS/", "Edge", "EdgiOS/"},
	{"EdgA/", "Edge", "EdgA/"},
	{"OPR/", "Opera", "OPR/"},
	{"SamsungBrowser/", "Samsung Internet", "SamsungBrowser/"},
	{"FxiOS/", "Firefox", "FxiOS/"},
	{"Firefox/", "Firefox", "Firefox/"},
	{"CriOS/", "Chrome", "CriOS/"},
	{"Chrome/", "Chrome", "Chrome/"},
	{"Safari/", "Safari", "Version/"},
	{"curl/", "curl", "curl/"},
	{"python-requests/", "Python requests", "python-requests/"},
	{"Go-http-client/", "Go HTTP client", "Go-http-client/"},
}

// systems, in order: iPads and iPhones also say "like Mac OS X", Android
// says Linux.
var systems = []struct{ token, name string }{
	{"iPad", "iPadOS"},
	{"iPhone", "iOS"},
	{"iPod", "iOS"},
	{"Android", "Android"},
	{"CrOS", "ChromeOS"},
	{"Windows", "Windows"},
	{"Mac OS X", "macOS"},
	{"Macintosh", "macOS"},
	{"Linux", "Linux"},
}

// ParseUserAgent reads the browser, system and kind of device from a
// User-Agent header; what it does not recognize is "Unknown". It is a
// small table, not a full database: good enough for a member to tell their
// sessions apart.
func ParseUserAgent(ua string) Agent {
	a := Agent{Browser: unknown, OS: unknown, Device: "other"}
	for _, b := range browsers {
		if strings.Contains(ua, b.token) {
			a.Browser = b.name
			if v := major(ua, b.version); v != "" {
				a.Browser += " " + v
			}
			break
		}
	}
	for _, s := range systems {
		if strings.Contains(ua, s.token) {
			a.OS = s.name
			break
		}
	}
	switch {
	case a.OS == "iPadOS" || strings.Contains(ua, "Tablet") || (a.OS == "Android" && !strings.Contains(ua, "Mobile")):
		a.Device = "tablet"
	case a.OS == "iOS" || strings.Contains(ua, "Mobile"):
		a.Device = "mobile"
	case a.OS != unknown && strings.HasPrefix(ua, "Mozilla/"):
		a.Device = "desktop"
	}
	return a
}

// major is the major version after token in ua ("126" of "Chrome/126.0.1").
func major(ua, token string) string {
	i := strings.Index(ua, token)
	if i < 0 {
		return ""
	}
	v := ua[i+len(token):]
	end := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	if end < 0 {
		end = len(v)
	}
	return v[:end]
}
