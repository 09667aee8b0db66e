package headers

import "regexp"

// refs matches $tyk_meta.<key> and $tyk_context.<name> references.
var refs = regexp.MustCompile(`\$tyk_(meta|context)\.[A-Za-z0-9_.\-]+`)
