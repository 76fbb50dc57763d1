package routes

// FnAI serves AI document summaries and drafting; functions/aiworker
// finishes long summaries.
const FnAI = "ai"

var aiRoutes = []Route{
	{Method: "POST", Path: "/v1/documents/{documentId}/summaries", Function: FnAI},
	{Method: "GET", Path: "/v1/matters/{matterId}/summaries", Function: FnAI},
	{Method: "GET", Path: "/v1/summaries/{summaryId}", Function: FnAI},
	{Method: "DELETE", Path: "/v1/summaries/{summaryId}", Function: FnAI},
	{Method: "POST", Path: "/v1/drafts", Function: FnAI},
}

// FnSpeech streams a summary read aloud (audio/mpeg) from its own function
// URL in RESPONSE_STREAM mode: API Gateway buffers responses, a function URL
// can stream them.
const FnSpeech = "speech"

var speechRoutes = []Route{
	{Method: "GET", Path: "/v1/summaries/{summaryId}/speech", Function: FnSpeech, FunctionURL: true, Stream: true},
}
