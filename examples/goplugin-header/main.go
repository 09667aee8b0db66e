// Command goplugin-header is the smallest useful pre-hook plugin for
// Tollgate's managed driver: it stamps every request with one header
// before the gateway authenticates and proxies it. The load benchmark
// measures the go-plugin round trip with it.
package main

import (
	"context"

	"github.com/tollgate/tollgate/plugins/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{
		Pre: func(_ context.Context, req *sdk.Request) (*sdk.Result, error) {
			req.Header.Set("X-Stamped-By", "goplugin-header")
			return nil, nil
		},
	})
}
