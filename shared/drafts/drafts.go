// Package drafts is AI drafting: a letter, an engagement letter, a demand
// or a free-form document from a member's instructions, saved as a Word
// document of the matter. Matter details reach the AI provider only when
// the member picks them; the draft costs credits by its length.
package drafts

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/ai"
	"github.com/matterly/matterly/shared/caller"
	"github.com/matterly/matterly/shared/check"
	"github.com/matterly/matterly/shared/credits"
	"github.com/matterly/matterly/shared/crm"
	"github.com/matterly/matterly/shared/documents"
	"github.com/matterly/matterly/shared/docx"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Kinds of draft, with what the model is asked to write.
var Kinds = map[string]string{
	"letter":            "a professional letter",
	"engagement_letter": "an engagement letter setting out the scope of the representation, fees and responsibilities",
	"demand":            "a formal demand letter",
	"freeform":          "the document the instructions describe",
}

// Length prices a draft: the longest answer allowed and its credits.
type Length struct {
	MaxTokens int
	Credits   int64
}

// Lengths are the draft sizes (README, "AI credits"): short up to about
// 450 words for 1 credit, medium about 1,100 for 2, long about 2,300 for 3.
var Lengths = map[string]Length{"short": {600, 1}, "medium": {1500, 2}, "long": {3000, 3}}

// Matter details a member may choose to include.
var MatterDetails = []string{"matterTitle", "practiceArea", "matterDescription", "clientName"}

// Input is POST /v1/drafts.
type Input struct {
	MatterID     string   `json:"matterId"`
	Kind         string   `json:"kind"`
	Instructions string   `json:"instructions"`
	Length       string   `json:"length"`        // short, medium (default) or long
	Include      []string `json:"matterDetails"` // the matter details to send; none unless chosen
	Title        string   `json:"title"`         // the saved document's name
}

// Draft is the answer: the text, what it cost and the document it became.
type Draft struct {
	Kind       string              `json:"kind"`
	Text       string              `json:"text"`
	Credits    int64               `json:"credits"`
	DocumentID string              `json:"documentId,omitempty"`
	Document   *documents.Document `json:"document,omitempty"`
}

// Service drafts.
type Service struct {
	DB      *store.DB
	Credits *credits.Service
	Model   ai.Model
	Docs    *documents.Service // nil: drafts are not saved
	Now     func() time.Time
}

const instructions = `You draft documents for a law practice. Write %s following the member's instructions. ` +
	`Use only the facts given; where a fact is missing, leave a clearly marked placeholder such as [DATE]. Plain text, no commentary before or after the document.`

// Create drafts a document and, for a matter, saves it as a document of
// the matter. Credits are taken first and given back if the model fails.
func (s *Service) Create(ctx context.Context, a caller.Caller, in Input) (Draft, error) {
	if s.Model == nil {
		return Draft{}, ai.ErrNotConfigured
	}
	in.Instructions, in.Title = strings.TrimSpace(in.Instructions), strings.TrimSpace(in.Title)
	if in.Length == "" {
		in.Length = "medium"
	}
	var ck fault.Checker
	_, kindOK := Kinds[in.Kind]
	ck.Check(kindOK, "kind", "must be letter, engagement_letter, demand or freeform")
	check.Text(&ck, "instructions", in.Instructions, true, 8000, true)
	_, lenOK := Lengths[in.Length]
	ck.Check(lenOK, "length", "must be short, medium or long")
	ck.Check(in.MatterID == "" || check.ID(in.MatterID), "matterId", "is not an id")
	for _, d := range in.Include {
		ck.Check(slices.Contains(MatterDetails, d), "matterDetails", "may hold "+strings.Join(MatterDetails, ", "))
	}
	ck.Check(len(in.Include) == 0 || in.MatterID != "", "matterDetails", "needs a matterId")
	check.Text(&ck, "title", in.Title, false, 120)
	if err := ck.Err(); err != nil {
		return Draft{}, err
	}
	var details string
	if in.MatterID != "" {
		m, err := crm.LoadMatter(ctx, s.DB, a.OrgID, in.MatterID)
		if err != nil {
			return Draft{}, err
		}
		if err := crm.CheckProcessable(ctx, s.DB, a.OrgID, m.ClientID); err != nil {
			return Draft{}, err
		}
		if details, err = s.details(ctx, a.OrgID, m, in.Include); err != nil {
			return Draft{}, err
		}
	}
	length := Lengths[in.Length]
	id := ulid.Make().String()
	// The spend holds only while the caller may still use the AI.
	u, err := s.Credits.Spend(ctx, a.OrgID, a.UserID, credits.KindDraft, id, length.Credits, tenant.MemberWith(s.DB, a.OrgID, a.UserID, access.UseAI))
	if store.Failed(err, 3) {
		return Draft{}, tenant.ErrRoleChanged
	}
	if err != nil {
		return Draft{}, err
	}
	input := in.Instructions
	if details != "" {
		input = "Matter details:\n" + details + "\nInstructions:\n" + in.Instructions
	}
	text, _, err := s.Model.Text(ctx, ai.TextRequest{Instructions: strings.Replace(instructions, "%s", Kinds[in.Kind], 1),
		Input: input, MaxOutputTokens: length.MaxTokens})
	if err == nil && strings.TrimSpace(text) == "" {
		err = fault.E(fault.Unavailable, "The AI answer was empty.")
	}
	if err != nil {
		if rerr := s.Credits.Refund(ctx, a.OrgID, u.ID, "draft failed"); rerr != nil {
			return Draft{}, rerr
		}
		return Draft{}, err
	}
	out := Draft{Kind: in.Kind, Text: strings.TrimSpace(text), Credits: length.Credits}
	if in.MatterID != "" && s.Docs != nil {
		name := in.Title
		if name == "" {
			name = strings.ReplaceAll(in.Kind, "_", " ") + " draft " + s.Now().UTC().Format("2006-01-02")
		}
		body, err := docx.Write(out.Text)
		if err == nil {
			var doc documents.Document
			if doc, err = s.Docs.Store(ctx, a, in.MatterID, fileName(name), docx.ContentType, body); err == nil {
				out.DocumentID, out.Document = doc.ID, &doc
			}
		}
		if err != nil {
			// Not saved: the member gets nothing, so pays nothing.
			if rerr := s.Credits.Refund(ctx, a.OrgID, u.ID, "draft not saved"); rerr != nil {
				return Draft{}, rerr
			}
			return Draft{}, err
		}
	}
	return out, nil
}

// details are the chosen matter details, one per line.
func (s *Service) details(ctx context.Context, orgID string, m crm.Matter, include []string) (string, error) {
	var b strings.Builder
	for _, d := range include {
		switch d {
		case "matterTitle":
			b.WriteString("Matter: " + m.Title + "\n")
		case "practiceArea":
			b.WriteString("Practice area: " + m.PracticeArea + "\n")
		case "matterDescription":
			b.WriteString("Description: " + m.Description + "\n")
		case "clientName":
			var c crm.Client
			if err := s.DB.Get(ctx, tenant.PK(orgID), crm.ClientSK(m.ClientID), &c); err != nil {
				return "", err
			}
			b.WriteString("Client: " + c.Name + "\n")
		}
	}
	return b.String(), nil
}

// fileName makes a safe .docx name from a title.
func fileName(title string) string {
	clean := strings.Map(func(r rune) rune {
		if r < 32 || strings.ContainsRune(`/\:*?"<>|`, r) {
			return '-'
		}
		return r
	}, title)
	return strings.TrimSpace(clean) + ".docx"
}

// Register serves POST /v1/drafts.
func Register(rt *httpapi.Router, svc *Service) {
	rt.Handle("POST /v1/drafts", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.UseAI, func(in Input) (any, error) {
			return svc.Create(ctx, r.Principal, in)
		}, http.StatusCreated)
	})
}
