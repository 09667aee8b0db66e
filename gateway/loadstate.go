package gateway

// LoadState says whether the data plane serves an API: "loaded", or
// "failed" with the reason the last load left it out (a refused plugin
// bundle, an unusable listen path, ...), or "" when the last load did not
// see the API. It backs GET /tyk/apis/{apiID}/status.
func (g *Gateway) LoadState(apiID string) (state, reason string) {
	if _, ok := g.plane.API(apiID); ok {
		return "loaded", ""
	}
	for _, p := range g.plane.Problems() {
		if p.APIID == apiID {
			return "failed", p.Reason
		}
	}
	return "", ""
}
