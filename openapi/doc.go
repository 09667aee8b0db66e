// Package openapi holds gateway.yml, Tollgate's OpenAPI 3.0 document of the
// Gateway API: the control-plane API of Tyk Gateway 5.4.0 that Tollgate
// serves. The code in gen/ is generated from it (see oapi-codegen.yml), and
// the tests in this package check that the document is valid and that it
// still matches the structure of Tyk's published 5.4.0 document.
package openapi

import _ "embed"

// Document is the content of gateway.yml, for packages that need to load the
// OpenAPI document at run time.
//
//go:embed gateway.yml
var Document []byte
