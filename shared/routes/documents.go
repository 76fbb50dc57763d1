package routes

// FnDocuments serves documents: uploads through presigned S3 URLs, versions,
// listing, downloads and deletion. It is the only app API function that may
// touch the documents bucket.
const FnDocuments = "documents"

var documentRoutes = []Route{
	{Method: "POST", Path: "/v1/matters/{matterId}/documents", Function: FnDocuments},
	{Method: "GET", Path: "/v1/matters/{matterId}/documents", Function: FnDocuments},
	{Method: "GET", Path: "/v1/documents/{documentId}", Function: FnDocuments},
	{Method: "DELETE", Path: "/v1/documents/{documentId}", Function: FnDocuments},
	{Method: "POST", Path: "/v1/documents/{documentId}/complete", Function: FnDocuments},
	{Method: "POST", Path: "/v1/documents/{documentId}/versions", Function: FnDocuments},
	{Method: "GET", Path: "/v1/documents/{documentId}/versions", Function: FnDocuments},
}
