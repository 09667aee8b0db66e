// Command goplugin-response is a response plugin for Tollgate's managed
// driver: it marks every upstream response with a header and wraps its
// body in a JSON envelope.
package main

import (
	"context"
	"encoding/json"

	"github.com/tollgate/tollgate/plugins/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{
		Response: func(_ context.Context, req *sdk.Request, resp *sdk.Response) error {
			body, err := json.Marshal(map[string]any{
				"api_id": req.APIID, "upstream_status": resp.Status, "upstream_body": string(resp.Body),
			})
			if err != nil {
				return err
			}
			resp.Header.Set("X-Plugin", "goplugin-response")
			resp.Header.Set("Content-Type", "application/json")
			resp.Body = body
			return nil
		},
	})
}
