// Package summaries is the opt-in AI summary of a document: its text is
// extracted on our side (shared/extract), page by page, and only that text
// goes to the AI provider, never the file name, the client or the matter.
// The answer is a title, a summary and key points, each key point citing
// the pages it comes from. Summaries cost AI credits by the document's
// size (Tiers); a failed summary gives its credits back.
package summaries

import (
	"time"

	"github.com/matterly/matterly/shared/store"
	"github.com/matterly/matterly/shared/tenant"
)

// Statuses.
const (
	Pending = "pending"
	Ready   = "ready"
	Failed  = "failed"
)

// KeyPoint is one conclusion and the 1-based pages it comes from.
type KeyPoint struct {
	Text  string `dynamodbav:"text" json:"text"`
	Pages []int  `dynamodbav:"pages" json:"pages"`
}

// Summary is the AI summary of one version of a document.
type Summary struct {
	store.Keys
	ID              string     `dynamodbav:"id" json:"id"`
	DocumentID      string     `dynamodbav:"documentId" json:"documentId"`
	DocumentVersion int        `dynamodbav:"documentVersion" json:"documentVersion"`
	MatterID        string     `dynamodbav:"matterId" json:"matterId"`
	Status          string     `dynamodbav:"status" json:"status"`
	Title           string     `dynamodbav:"title,omitempty" json:"title"`
	Summary         string     `dynamodbav:"summary,omitempty" json:"summary"`
	KeyPoints       []KeyPoint `dynamodbav:"keyPoints,omitempty" json:"keyPoints"`
	Credits         int64      `dynamodbav:"credits" json:"credits"`
	Pages           int        `dynamodbav:"pages" json:"pages"`
	Words           int        `dynamodbav:"words" json:"words"`
	Error           string     `dynamodbav:"error,omitempty" json:"error,omitempty"`
	UsageID         string     `dynamodbav:"usageId" json:"-"` // the credits spent, refunded on failure
	CreatedBy       string     `dynamodbav:"createdBy" json:"createdBy"`
	CreatedAt       time.Time  `dynamodbav:"createdAt" json:"createdAt"`
	UpdatedAt       time.Time  `dynamodbav:"updatedAt" json:"updatedAt"`
}

// Tier prices a summary by its extracted text.
type Tier struct {
	Name     string
	MaxChars int // inclusive
	Credits  int64
}

// Tiers are the summary prices, in one place (README, "AI credits"): up to
// 20,000 characters (about 8 pages) 1 credit, up to 100,000 (about 40
// pages) 2, longer 3.
var Tiers = []Tier{{"short", 20_000, 1}, {"medium", 100_000, 2}, {"long", 1 << 62, 3}}

// TierOf is the tier of a text of n characters.
func TierOf(n int) Tier {
	for _, t := range Tiers {
		if n <= t.MaxChars {
			return t
		}
	}
	return Tiers[len(Tiers)-1]
}

// SpeechCredits is the price of a summary's first playback; replays are free.
const SpeechCredits = 1

// Key layout: the summary in the org's partition, listed per matter from
// GSI1 (newest first: ids are ULIDs); a playback marker per summary.
func summarySK(id string) string { return "SUMMARY#" + id }
func speechSK(id string) string  { return "SUMMARY#" + id + "#SPOKEN" }
func matterSummariesPK(orgID, matterID string) string {
	return tenant.PK(orgID) + "#MATTER#" + matterID + "#SUMMARIES"
}

func (s *Summary) setKeys(orgID string) {
	if s.KeyPoints == nil {
		s.KeyPoints = []KeyPoint{}
	}
	s.Keys = store.Keys{PK: tenant.PK(orgID), SK: summarySK(s.ID), Type: "summary",
		GSI1PK: matterSummariesPK(orgID, s.MatterID), GSI1SK: s.ID}
}
