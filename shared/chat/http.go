package chat

import (
	"context"
	"errors"
	"net/http"

	"github.com/matterly/matterly/shared/access"
	"github.com/matterly/matterly/shared/fault"
	"github.com/matterly/matterly/shared/httpapi"
	"github.com/matterly/matterly/shared/routes"
	"github.com/matterly/matterly/shared/store"
)

// Threads is the thread list envelope.
type Threads struct {
	Items []Thread `json:"items"`
}

// NewRouter serves the chat function's API routes.
func NewRouter(svc *Service, rc httpapi.RouterConfig) (*httpapi.Router, error) {
	rt := httpapi.NewRouter(routes.FnChat, rc.Options)
	use := func(r *httpapi.Request) error { return r.Require(access.UseChat) }
	rt.Handle("GET /v1/chat/threads", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := use(r); err != nil {
			return nil, err
		}
		items, err := svc.ListThreads(ctx, r.Principal)
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, Threads{Items: items}), nil
	})
	rt.Handle("POST /v1/chat/threads", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := use(r); err != nil {
			return nil, err
		}
		var in CreateInput
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		t, created, err := svc.CreateThread(ctx, r.Principal, in)
		if err != nil {
			return nil, err
		}
		if !created {
			return httpapi.JSON(http.StatusOK, t), nil
		}
		return httpapi.JSON(http.StatusCreated, t), nil
	})
	rt.Handle("GET /v1/chat/threads/{threadId}", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := use(r); err != nil {
			return nil, err
		}
		t, err := svc.GetThread(ctx, r.Principal, r.Param("threadId"))
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, t), nil
	})
	rt.Handle("POST /v1/chat/threads/{threadId}/members", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.UseChat, func(in MembersInput) (any, error) {
			return svc.AddMembers(ctx, r.Principal, r.Param("threadId"), in)
		}, http.StatusOK)
	})
	rt.Handle("DELETE /v1/chat/threads/{threadId}/members/{userId}", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := use(r); err != nil {
			return nil, err
		}
		if err := svc.RemoveMember(ctx, r.Principal, r.Param("threadId"), r.Param("userId")); err != nil {
			return nil, err
		}
		return httpapi.NoContent(), nil
	})
	rt.Handle("GET /v1/chat/threads/{threadId}/messages", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := use(r); err != nil {
			return nil, err
		}
		threadID, before := r.Param("threadId"), r.Query("before")
		return httpapi.ListPage(r, rc.Cursors, "chat-messages?"+threadID+"&before="+before, func(limit int32, start store.StartKey) ([]Message, store.StartKey, error) {
			return svc.ListMessages(ctx, r.Principal, threadID, before, limit, start)
		})
	})
	rt.Handle("POST /v1/chat/threads/{threadId}/messages", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return textUTF8(httpapi.DecodeAnd(r, access.UseChat, func(in SendInput) (any, error) {
			return svc.Send(ctx, r.Principal, r.Param("threadId"), in)
		}, http.StatusCreated))
	})
	rt.Handle("PATCH /v1/chat/threads/{threadId}/messages/{messageId}", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return textUTF8(httpapi.DecodeAnd(r, access.UseChat, func(in EditInput) (any, error) {
			return svc.Edit(ctx, r.Principal, r.Param("threadId"), r.Param("messageId"), in)
		}, http.StatusOK))
	})
	rt.Handle("DELETE /v1/chat/threads/{threadId}/messages/{messageId}", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := use(r); err != nil {
			return nil, err
		}
		if err := svc.Delete(ctx, r.Principal, r.Param("threadId"), r.Param("messageId")); err != nil {
			return nil, err
		}
		return httpapi.NoContent(), nil
	})
	rt.Handle("POST /v1/chat/threads/{threadId}/messages/{messageId}/reactions", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := use(r); err != nil {
			return nil, err
		}
		var in ReactionInput
		if err := r.Decode(&in); err != nil {
			return nil, err
		}
		m, added, err := svc.React(ctx, r.Principal, r.Param("threadId"), r.Param("messageId"), in)
		if err != nil {
			return nil, err
		}
		if added {
			return httpapi.JSON(http.StatusCreated, m), nil
		}
		return httpapi.JSON(http.StatusOK, m), nil
	})
	rt.Handle("DELETE /v1/chat/threads/{threadId}/messages/{messageId}/reactions", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := use(r); err != nil {
			return nil, err
		}
		if err := svc.Unreact(ctx, r.Principal, r.Param("threadId"), r.Param("messageId"), r.Query("emoji")); err != nil {
			return nil, err
		}
		return httpapi.NoContent(), nil
	})
	rt.Handle("POST /v1/chat/threads/{threadId}/attachments", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.UseChat, func(in AttachmentInput) (any, error) {
			return svc.CreateAttachment(ctx, r.Principal, r.Param("threadId"), in)
		}, http.StatusCreated)
	})
	rt.Handle("POST /v1/chat/threads/{threadId}/read", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.UseChat, func(in ReadInput) (any, error) {
			return svc.Read(ctx, r.Principal, r.Param("threadId"), in)
		}, http.StatusOK)
	})
	rt.Handle("PUT /v1/chat/threads/{threadId}/mute", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.UseChat, func(in MuteInput) (any, error) {
			return svc.Mute(ctx, r.Principal, r.Param("threadId"), in)
		}, http.StatusOK)
	})
	rt.Handle("POST /v1/chat/threads/{threadId}/leave", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := use(r); err != nil {
			return nil, err
		}
		if err := svc.Leave(ctx, r.Principal, r.Param("threadId")); err != nil {
			return nil, err
		}
		return httpapi.NoContent(), nil
	})
	rt.Handle("GET /v1/chat/gifs", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := use(r); err != nil {
			return nil, err
		}
		page, err := svc.SearchGIFs(ctx, r.Principal, r.Query("q"), r.Query("limit"))
		if err != nil {
			return nil, err
		}
		return httpapi.JSON(http.StatusOK, page), nil
	})
	rt.Handle("POST /v1/chat/tickets", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		return httpapi.DecodeAnd(r, access.UseChat, func(struct{}) (any, error) {
			return svc.NewTicket(ctx, r.Principal)
		}, http.StatusCreated)
	})
	rt.Handle("GET /v1/compliance/chat/threads", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadChatCompliance); err != nil {
			return nil, err
		}
		return httpapi.ListPage(r, rc.Cursors, "compliance-chat-threads", func(limit int32, start store.StartKey) ([]ComplianceThread, store.StartKey, error) {
			return svc.ComplianceThreads(ctx, r.Principal, limit, start)
		})
	})
	rt.Handle("GET /v1/compliance/chat/threads/{threadId}/messages", func(ctx context.Context, r *httpapi.Request) (*httpapi.Response, error) {
		if err := r.Require(access.ReadChatCompliance); err != nil {
			return nil, err
		}
		threadID := r.Param("threadId")
		return httpapi.ListPage(r, rc.Cursors, "compliance-chat-messages?"+threadID, func(limit int32, start store.StartKey) ([]Message, store.StartKey, error) {
			return svc.ComplianceMessages(ctx, r.Principal, threadID, limit, start)
		})
	})
	return rt, rt.Check()
}

// textUTF8 answers a message body that is not valid UTF-8 (raw, or a lone
// surrogate escape) as the chat contract says: a 422 on its text, as NUL
// is, where other routes answer 400 for such a body.
func textUTF8(resp *httpapi.Response, err error) (*httpapi.Response, error) {
	if errors.Is(err, httpapi.ErrNotUTF8) {
		return nil, fault.Fields(fault.FieldError{Field: "text", Message: "must be valid UTF-8"})
	}
	return resp, err
}
