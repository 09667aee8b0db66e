// Command testplugin is the managed plugin the plugin tests run. Request
// headers steer it (X-Hang, X-Panic, X-Deny, X-Respond); a file named
// "crash" next to it makes it exit at start, so tests can keep it down.
package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strconv"

	"github.com/tollgate/tollgate/plugins/sdk"
)

func main() {
	if _, err := os.Stat("crash"); err == nil {
		os.Exit(3)
	}
	pid := strconv.Itoa(os.Getpid())
	sdk.Log.Info("test plugin serving", "pid", pid)
	sdk.Serve(sdk.Plugin{
		Pre: func(ctx context.Context, req *sdk.Request) (*sdk.Result, error) {
			switch {
			case req.Header.Get("X-Hang") != "":
				<-ctx.Done()
				return nil, ctx.Err()
			case req.Header.Get("X-Panic") != "":
				panic("asked to panic")
			case req.Header.Get("X-Deny") != "":
				return sdk.Deny(http.StatusTeapot, "refused by the test plugin").WithHeader("X-Denied", "1"), nil
			case req.Header.Get("X-Respond") != "":
				return sdk.Respond(http.StatusCreated, map[string]string{"X-Made-By": "plugin"}, "made by the plugin"), nil
			case req.Header.Get("X-Bad-URL") != "":
				req.URL = "::not a url"
				return nil, nil
			}
			req.Header.Set("X-Pre-Pid", pid)
			req.Header.Del("X-Remove-Me")
			q := req.Query()
			q.Set("pre", "1")
			q.Del("drop")
			req.SetQuery(q)
			if len(req.Body) > 0 {
				req.Body = append(req.Body, " +pre"...)
			}
			if v, ok := req.ConfigData["greeting"].(string); ok {
				req.Header.Set("X-Greeting", v)
			}
			return nil, nil
		},
		Auth: func(_ context.Context, req *sdk.Request) (*sdk.Result, error) {
			tok := req.Header.Get("Authorization")
			if tok != "good-token" && tok != "cached-token" {
				return sdk.Deny(http.StatusForbidden, "bad token"), nil
			}
			s := &sdk.Session{Rate: 100, Per: 1, QuotaMax: -1, Alias: "alias-" + tok,
				AccessRights: map[string]*sdk.AccessDefinition{req.APIID: {ApiId: req.APIID}},
				Metadata:     map[string]string{"auth_pid": pid}}
			return sdk.Authenticated(tok, s), nil
		},
		PostKeyAuth: func(_ context.Context, req *sdk.Request) (*sdk.Result, error) {
			if req.Session == nil {
				return nil, errors.New("post_key_auth without a session")
			}
			req.Header.Set("X-Session-Alias", req.Session.Alias)
			return nil, nil
		},
		Post: func(_ context.Context, req *sdk.Request) (*sdk.Result, error) {
			if req.Session != nil {
				req.Header.Set("X-Post-Auth-Pid", req.Session.Metadata["auth_pid"])
			}
			req.Header.Set("X-Post", "yes")
			return nil, nil
		},
		Response: func(_ context.Context, _ *sdk.Request, resp *sdk.Response) error {
			resp.Header.Add("X-Response-Hook", "one")
			resp.Header.Add("X-Response-Hook", "two")
			resp.Body = append(resp.Body, "+response"...)
			return nil
		},
		KeyRequest: func(_ context.Context, kr *sdk.KeyRequest) (*sdk.KeyReply, error) {
			if kr.Action == "delete" {
				return &sdk.KeyReply{Deny: true, StatusCode: http.StatusForbidden, Message: "keys of " + kr.OrgId + " cannot be deleted"}, nil
			}
			s := kr.Session
			if s == nil {
				s = &sdk.Session{}
			}
			s.Alias = "checked-by-plugin"
			return &sdk.KeyReply{Session: s}, nil
		},
	})
}
