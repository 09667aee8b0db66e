// Command goplugin-auth is a custom authentication plugin for Tollgate's
// managed driver: requests whose Authorization header is the fixed token
// below get a session with access to the API; others are refused.
package main

import (
	"context"
	"net/http"

	"github.com/tollgate/tollgate/plugins/sdk"
)

const token = "open-sesame"

func main() {
	sdk.Serve(sdk.Plugin{
		Auth: func(_ context.Context, req *sdk.Request) (*sdk.Result, error) {
			if req.Header.Get("Authorization") != token {
				return sdk.Deny(http.StatusForbidden, "Access denied by the example plugin"), nil
			}
			sdk.Log.Info("caller authenticated", "api_id", req.APIID)
			return sdk.Authenticated("example-user", &sdk.Session{
				Rate: 100, Per: 1, QuotaMax: -1,
				AccessRights: map[string]*sdk.AccessDefinition{req.APIID: {ApiId: req.APIID}},
				Metadata:     map[string]string{"user": "example"},
			}), nil
		},
	})
}
