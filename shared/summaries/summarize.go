package summaries

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/matterly/matterly/shared/ai"
	"github.com/matterly/matterly/shared/extract"
	"github.com/matterly/matterly/shared/fault"
)

// Limits of the map-reduce.
const (
	// ChunkChars is how much text one model call reads (about 10,000
	// tokens): well inside every current model's context, with room for the
	// instructions and the answer.
	ChunkChars = 40_000
	// maxKeyPoints bounds the final list; maxPointChars each point.
	maxKeyPoints  = 12
	maxPointChars = 600
	maxTitle      = 200
	maxSummary    = 6000
)

// result is the model's answer, in the schema below.
type result struct {
	Title     string     `json:"title"`
	Summary   string     `json:"summary"`
	KeyPoints []KeyPoint `json:"keyPoints"`
}

// schema is the strict JSON Schema of a result.
var schema = json.RawMessage(`{
  "type": "object",
  "additionalProperties": false,
  "required": ["title", "summary", "keyPoints"],
  "properties": {
    "title": {"type": "string", "description": "A short descriptive title of the document"},
    "summary": {"type": "string", "description": "A faithful summary in plain language"},
    "keyPoints": {
      "type": "array",
      "items": {
        "type": "object",
        "additionalProperties": false,
        "required": ["text", "pages"],
        "properties": {
          "text": {"type": "string", "description": "One conclusion, obligation, date or figure"},
          "pages": {"type": "array", "items": {"type": "integer"}, "description": "The page numbers it comes from, as marked [Page N]"}
        }
      }
    }
  }
}`)

const (
	mapInstructions = `You summarize documents for a law practice. The user message is the text of a document, or of a part of it; each page starts with a marker such as [Page 3]. ` +
		`Answer with a title, a summary of what the text says, and up to 12 key points (parties, obligations, deadlines, amounts, risks). ` +
		`Every key point must cite, in "pages", the page numbers of the markers where its source passage is. Use only the text; never invent facts or pages.`
	reduceInstructions = `You combine partial summaries of consecutive parts of one document, given as JSON, into one summary of the whole document: a title, a summary and up to 12 key points. ` +
		`Keep each key point's page numbers exactly as given (merge the page lists of points you combine); never invent facts or pages.`
)

// chunks splits a document's pages into model-sized inputs, each page
// under its marker. A page longer than a chunk is split, each piece keeping
// the page's marker, so every passage still names its page.
func chunks(doc extract.Document) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			out = append(out, b.String())
			b.Reset()
		}
	}
	for i, page := range doc.Pages {
		marker := "[Page " + strconv.Itoa(i+1) + "]\n"
		for page != "" {
			room := ChunkChars - b.Len() - len(marker) - 2
			if room < ChunkChars/4 && b.Len() > 0 {
				flush()
				continue
			}
			piece := page
			if len(piece) > room {
				cut := strings.LastIndexAny(piece[:room], " \n")
				if cut <= 0 {
					cut = room
				}
				piece = piece[:cut]
			}
			b.WriteString(marker + piece + "\n\n")
			page = strings.TrimLeft(page[len(piece):], " \n")
		}
	}
	flush()
	return out
}

// summarize runs the map (one call per chunk) and, for several chunks, the
// reduce. Only the chunks' text is ever sent.
func summarize(ctx context.Context, model ai.Model, doc extract.Document) (result, error) {
	parts := chunks(doc)
	if len(parts) == 0 {
		return result{}, fault.E(fault.Invalid, "The document has no text to summarize.")
	}
	var partial []result
	for _, p := range parts {
		if err := timeLeft(ctx); err != nil {
			return result{}, err
		}
		r, err := ask(ctx, model, mapInstructions, p)
		if err != nil {
			return result{}, err
		}
		partial = append(partial, r)
	}
	final := partial[0]
	if len(partial) > 1 {
		if err := timeLeft(ctx); err != nil {
			return result{}, err
		}
		in, _ := json.Marshal(partial)
		var err error
		if final, err = ask(ctx, model, reduceInstructions, string(in)); err != nil {
			return result{}, err
		}
	}
	return clean(final, len(doc.Pages))
}

// callTime is the longest one model call may take (the provider client's
// timeout): a call is not started without it, so the work fails cleanly,
// credits given back, instead of being cut off by the function's timeout.
const callTime = 65 * time.Second

func timeLeft(ctx context.Context) error {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < callTime {
		return fault.E(fault.Unavailable, "The summary ran out of time.")
	}
	return nil
}

func ask(ctx context.Context, model ai.Model, instructions, input string) (result, error) {
	raw, _, err := model.Structured(ctx, ai.StructuredRequest{Instructions: instructions, Input: input,
		SchemaName: "document_summary", Schema: schema, MaxOutputTokens: 2000})
	if err != nil {
		return result{}, err
	}
	var r result
	if err := json.Unmarshal(raw, &r); err != nil {
		return result{}, fault.E(fault.Unavailable, "The AI answer did not follow the summary format.")
	}
	return r, nil
}

// clean bounds the answer and keeps only key points that cite pages the
// document has: a point without a real source is dropped, not shown.
func clean(r result, pages int) (result, error) {
	r.Title = clip(strings.TrimSpace(r.Title), maxTitle)
	r.Summary = clip(strings.TrimSpace(r.Summary), maxSummary)
	var points []KeyPoint
	for _, kp := range r.KeyPoints {
		var ps []int
		for _, p := range kp.Pages {
			if p >= 1 && p <= pages {
				ps = append(ps, p)
			}
		}
		slices.Sort(ps)
		ps = slices.Compact(ps)
		text := clip(strings.TrimSpace(kp.Text), maxPointChars)
		if text == "" || len(ps) == 0 {
			continue
		}
		points = append(points, KeyPoint{Text: text, Pages: ps})
		if len(points) == maxKeyPoints {
			break
		}
	}
	r.KeyPoints = points
	if r.Title == "" || r.Summary == "" {
		return result{}, fault.E(fault.Unavailable, "The AI answer was empty.")
	}
	return r, nil
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n]
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// speechText is what a playback reads: the title, the summary and the key
// points, within the provider's input limit.
func speechText(s Summary) string {
	var b strings.Builder
	b.WriteString(s.Title + ".\n\n" + s.Summary + "\n\n")
	for i, kp := range s.KeyPoints {
		fmt.Fprintf(&b, "Point %d: %s\n", i+1, kp.Text)
	}
	return clip(b.String(), ai.MaxSpeechInput)
}
