// Package scripts holds the JavaScript the gateway embeds in its binary:
// the TykJS prelude every JS runtime starts with, and Underscore.js
// (vendored unchanged from the npm package underscore 1.13.8, MIT licence
// in UNDERSCORE-LICENSE), which Tyk's JSVM offers as the global _.
// tollgate.d.ts beside them types the whole JavaScript API for editors.
package scripts

import _ "embed"

// Prelude defines TykJS, the middleware and event-handler constructors,
// and TykJsResponse.
//
//go:embed prelude.js
var Prelude string

// Underscore is underscore-umd-min.js; run as a script it sets the global _.
//
//go:embed underscore-umd-min.js
var Underscore string

// UnderscoreVersion is the vendored release.
const UnderscoreVersion = "1.13.8"
