package controlapi_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/gateway/gatewaytest"
)

// The hostile-input tests send every write operation of the control API
// bodies and IDs a careless or malicious client could send, on the embedded
// store and on Redis, and check that each is refused with a 4xx Tyk-shaped
// error (never a 5xx or a dropped connection) and that nothing stored
// changed: the key, org, policy and API listings, each listed object, and
// the files under (and beside) the gateway's folder. IDs that are merely
// unusual (non-ASCII, glob characters) are accepted; those cases check the
// object is readable under the same ID and its file sits inside its folder,
// then remove it again. Deliberate differences from Tyk asserted here:
// unreadable bodies are 400 (Tyk answers 500 on /keys/create and
// /keys/preview), a body must be exactly one JSON object (Tyk ignores bytes
// after it and takes null for an empty object), and unsafe IDs are refused.

// Objects seeded before the hostile requests, so "nothing changed" has
// something to lose. Body cases aim at these IDs.
const (
	hostileSeedAPI    = "hostile-seed-api"
	hostileSeedPolicy = "hostile-seed-policy"
	hostileSeedKey    = "hostile-seed-key"
	hostileSeedOrg    = "hostile-seed-org"
	hostileMissingID  = "hostile-no-such-object"
	hostileNewID      = "hostile-new-object"
)

// Tyk's messages for an unreadable body (Tollgate answers 400 where Tyk
// sometimes answers 500: a deliberate difference).
const (
	hostileMsgMalformed   = "Request malformed"
	hostileMsgUnmarshal   = "Unmarshalling failed"
	hostileMsgInstruction = "Couldn't decode instruction"
	hostileMsgTooBig      = "Request body too large"
)

// hostileBodyLimit is the default control-API body limit (4 MiB).
const hostileBodyLimit = 4 << 20

// hostileBodyKind is what an operation reads from its body.
type hostileBodyKind int

const (
	hostileNoBody          hostileBodyKind = iota // DELETE: the body is not read as JSON
	hostileSessionBody                            // SessionState (keys, org keys)
	hostilePolicyBody                             // Policy
	hostileAPIBody                                // classic API definition
	hostileInstructionBody                        // {"policy","apply_policies"}
)

// hostileFields returns the fields of a body the operation accepts, with id
// as the body's own ID where the kind has one. Cases add or replace fields
// with raw JSON, so values Go cannot marshal (1e400, deep nesting) can be
// sent.
func hostileFields(kind hostileBodyKind, id string) map[string]string {
	rights := `{"` + hostileSeedAPI + `":{"api_id":"` + hostileSeedAPI + `","versions":["Default"]}}`
	switch kind {
	case hostileSessionBody:
		return map[string]string{"access_rights": rights, "quota_max": "-1", "rate": "10", "per": "1"}
	case hostilePolicyBody:
		return map[string]string{"id": hostileJSONString(id), "name": `"hostile"`, "access_rights": rights, "quota_max": "-1", "rate": "10", "per": "1"}
	case hostileAPIBody:
		return map[string]string{
			"api_id": hostileJSONString(id), "name": `"hostile"`, "active": "true", "session_lifetime": "0",
			"proxy": `{"listen_path":"/hostile/","target_url":"http://127.0.0.1:9","strip_listen_path":true}`,
		}
	case hostileInstructionBody:
		return map[string]string{"apply_policies": `["` + hostileSeedPolicy + `"]`}
	}
	return nil
}

// hostileObject writes fields as a JSON object (keys sorted), replacing or
// adding the name/raw-value pairs in kv.
func hostileObject(fields map[string]string, kv ...string) string {
	all := make(map[string]string, len(fields)+len(kv)/2)
	for k, v := range fields {
		all[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		all[kv[i]] = kv[i+1]
	}
	names := make([]string, 0, len(all))
	for k := range all {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(hostileJSONString(k) + ":" + all[k])
	}
	b.WriteByte('}')
	return b.String()
}

func hostileJSONString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// hostileNested is depth levels of arrays, deeper than encoding/json's
// nesting limit of 10000 when depth is larger.
func hostileNested(depth int) string {
	return strings.Repeat("[", depth) + strings.Repeat("]", depth)
}

// hostileEndpoint is one write operation of the control API.
type hostileEndpoint struct {
	method string
	route  string // path; "{id}" marks the ID segment
	kind   hostileBodyKind
	// target is the seeded ID body cases address, so a body wrongly
	// accepted would overwrite it. DELETE cases address a missing ID:
	// DELETE ignores its body, so aiming it at a seeded object would
	// delete that object legitimately.
	target string
	// malformed is the operation's message for an unreadable body.
	malformed string
	// missing is the status DELETE answers for an ID that does not exist.
	missing int
	// family says which store the path ID names: "key", "policy", "api",
	// "org" or "" when the path has no ID.
	family string
}

func (e hostileEndpoint) String() string { return e.method + " " + e.route }

func (e hostileEndpoint) path(escapedID string) string {
	return strings.Replace(e.route, "{id}", escapedID, 1)
}

var hostileEndpoints = []hostileEndpoint{
	{method: "POST", route: "/tyk/keys", kind: hostileSessionBody, malformed: hostileMsgMalformed},
	{method: "POST", route: "/tyk/keys/create", kind: hostileSessionBody, malformed: hostileMsgUnmarshal},
	{method: "POST", route: "/tyk/keys/preview", kind: hostileSessionBody, malformed: hostileMsgUnmarshal},
	{method: "POST", route: "/tyk/keys/{id}", kind: hostileSessionBody, target: hostileSeedKey, malformed: hostileMsgMalformed, family: "key"},
	{method: "PUT", route: "/tyk/keys/{id}", kind: hostileSessionBody, target: hostileSeedKey, malformed: hostileMsgMalformed, family: "key"},
	{method: "DELETE", route: "/tyk/keys/{id}", kind: hostileNoBody, target: hostileMissingID, missing: 404, family: "key"},
	// With hash_keys off the stored name of a key is its ID, so the seeded
	// key's ID is also its "hash".
	{method: "POST", route: "/tyk/keys/policy/{id}", kind: hostileInstructionBody, target: hostileSeedKey, malformed: hostileMsgInstruction, family: "key"},
	{method: "POST", route: "/tyk/policies", kind: hostilePolicyBody, malformed: hostileMsgMalformed},
	{method: "PUT", route: "/tyk/policies/{id}", kind: hostilePolicyBody, target: hostileSeedPolicy, malformed: hostileMsgMalformed, family: "policy"},
	{method: "DELETE", route: "/tyk/policies/{id}", kind: hostileNoBody, target: hostileMissingID, missing: 404, family: "policy"},
	{method: "POST", route: "/tyk/apis", kind: hostileAPIBody, malformed: hostileMsgMalformed},
	{method: "PUT", route: "/tyk/apis/{id}", kind: hostileAPIBody, target: hostileSeedAPI, malformed: hostileMsgMalformed, family: "api"},
	{method: "DELETE", route: "/tyk/apis/{id}", kind: hostileNoBody, target: hostileMissingID, missing: 404, family: "api"},
	{method: "POST", route: "/tyk/org/keys/{id}", kind: hostileSessionBody, target: hostileSeedOrg, malformed: hostileMsgMalformed, family: "org"},
	{method: "PUT", route: "/tyk/org/keys/{id}", kind: hostileSessionBody, target: hostileSeedOrg, malformed: hostileMsgMalformed, family: "org"},
	// Tyk answers a missing org session with 400, not 404.
	{method: "DELETE", route: "/tyk/org/keys/{id}", kind: hostileNoBody, target: hostileMissingID, missing: 400, family: "org"},
}

// bodyID is the ID a body of this endpoint carries: the target when the
// body must match the path, else a new ID the body would create.
func (e hostileEndpoint) bodyID() string {
	if e.target != "" && e.kind != hostileNoBody {
		return e.target
	}
	return hostileNewID
}

// hostileBodyCase is one hostile body, sent to every endpoint.
type hostileBodyCase struct {
	name string
	body func(e hostileEndpoint) string
	// syntax marks bodies that are not JSON at all (or not an object), so
	// the reply must carry the operation's own "malformed" message.
	syntax bool
}

// hostileWrongType returns a body where one field of the operation's schema
// has the wrong JSON type: field=value for sessions and policies, and
// stand-ins for the API definition and policy instruction, which have no
// such field (an unknown field is ignored, not refused).
func hostileWrongType(field, value, apiField, apiValue, instrField, instrValue string) func(e hostileEndpoint) string {
	return func(e hostileEndpoint) string {
		f := hostileFields(e.kind, e.bodyID())
		switch e.kind {
		case hostileAPIBody:
			return hostileObject(f, apiField, apiValue)
		case hostileInstructionBody:
			return hostileObject(f, instrField, instrValue)
		}
		return hostileObject(f, field, value)
	}
}

// hostileHuge returns a body with a number no Go number type holds.
func hostileHuge(number string) func(e hostileEndpoint) string {
	return func(e hostileEndpoint) string {
		f := hostileFields(e.kind, e.bodyID())
		switch e.kind {
		case hostileAPIBody:
			return hostileObject(f, "session_lifetime", number)
		case hostileInstructionBody:
			return hostileObject(f, "apply_policies", "["+number+"]")
		}
		return hostileObject(f, "quota_max", number, "rate", number)
	}
}

var hostileBodyCases = []hostileBodyCase{
	{name: "empty body is refused", syntax: true, body: func(hostileEndpoint) string { return "" }},
	{name: "truncated JSON is refused", syntax: true, body: func(e hostileEndpoint) string {
		b := hostileObject(hostileFields(e.kind, e.bodyID()))
		return b[:len(b)/2]
	}},
	{name: "JSON with a trailing comma is refused", syntax: true, body: func(hostileEndpoint) string { return `{"quota_max":1,}` }},
	{name: "unquoted keys are refused", syntax: true, body: func(hostileEndpoint) string { return `{quota_max:1}` }},
	{name: "a valid object followed by garbage is refused", syntax: true, body: func(e hostileEndpoint) string {
		return hostileObject(hostileFields(e.kind, e.bodyID())) + `}garbage`
	}},
	{name: "two concatenated objects are refused", syntax: true, body: func(e hostileEndpoint) string {
		b := hostileObject(hostileFields(e.kind, e.bodyID()))
		return b + b
	}},
	{name: "binary garbage is refused", syntax: true, body: func(hostileEndpoint) string { return "\x00\xff\xfe{\x01" }},
	{name: "top-level array is refused", syntax: true, body: func(hostileEndpoint) string { return `[]` }},
	{name: "top-level array of a valid object is refused", syntax: true, body: func(e hostileEndpoint) string {
		return "[" + hostileObject(hostileFields(e.kind, e.bodyID())) + "]"
	}},
	{name: "top-level string is refused", syntax: true, body: func(hostileEndpoint) string { return `"hostile"` }},
	{name: "top-level null is refused", syntax: true, body: func(hostileEndpoint) string { return `null` }},
	{name: "top-level number is refused", syntax: true, body: func(hostileEndpoint) string { return `42` }},
	{name: "top-level boolean is refused", syntax: true, body: func(hostileEndpoint) string { return `true` }},
	{name: "string quota_max is refused", body: hostileWrongType("quota_max", `"x"`, "session_lifetime", `"x"`, "policy", `["x"]`)},
	{name: "array access_rights is refused", body: hostileWrongType("access_rights", `[]`, "version_data", `[]`, "apply_policies", `"x"`)},
	{name: "boolean rate is refused", body: hostileWrongType("rate", `true`, "active", `"yes"`, "apply_policies", `true`)},
	{name: "numeric api_id or id is refused", body: func(e hostileEndpoint) string {
		f := hostileFields(e.kind, e.bodyID())
		switch e.kind {
		case hostileAPIBody:
			return hostileObject(f, "api_id", "12345")
		case hostilePolicyBody:
			return hostileObject(f, "id", "12345")
		case hostileInstructionBody:
			return hostileObject(f, "policy", "12345")
		}
		return hostileObject(f, "org_id", "12345")
	}},
	{name: "object where a string list belongs is refused", body: func(e hostileEndpoint) string {
		f := hostileFields(e.kind, e.bodyID())
		switch e.kind {
		case hostileAPIBody:
			return hostileObject(f, "proxy", `"http://example.com"`)
		case hostileInstructionBody:
			return hostileObject(f, "apply_policies", `{"a":1}`)
		}
		return hostileObject(f, "tags", `{"a":1}`)
	}},
	{name: "number 1e400 is refused", body: hostileHuge("1e400")},
	{name: "number -1e400 is refused", body: hostileHuge("-1e400")},
	{name: "integer 99999999999999999999999 is refused", body: hostileHuge("99999999999999999999999")},
	{name: "nesting deeper than the JSON decoder allows is refused", body: func(e hostileEndpoint) string {
		return hostileObject(hostileFields(e.kind, e.bodyID()), "meta_data", `{"deep":`+hostileNested(20000)+`}`)
	}},
	{name: "deep nesting at the top level is refused", syntax: true, body: func(hostileEndpoint) string {
		return hostileNested(20000)
	}},
	{name: "deep nesting in a typed field is refused", body: func(e hostileEndpoint) string {
		f := hostileFields(e.kind, e.bodyID())
		switch e.kind {
		case hostileAPIBody:
			return hostileObject(f, "proxy", hostileNested(200))
		case hostileInstructionBody:
			return hostileObject(f, "apply_policies", `[`+hostileNested(200)+`]`)
		}
		return hostileObject(f, "access_rights", `{"x":{"versions":`+hostileNested(200)+`}}`)
	}},
}

// TestHostileBodiesAreRefused sends every hostile body to every write
// operation: each gets a 4xx Tyk error body and nothing stored changes.
func TestHostileBodiesAreRefused(t *testing.T) {
	onBothStores(t, nil, func(t *testing.T, g *gatewaytest.Gateway) {
		hostileSeed(t, g)
		before := hostileSnapshot(t, g)
		for _, e := range hostileEndpoints {
			t.Run(e.String(), func(t *testing.T) {
				for _, c := range hostileBodyCases {
					t.Run(c.name, func(t *testing.T) {
						r := g.Do(t, e.method, e.path(url.PathEscape(e.target)), c.body(e))
						switch {
						case e.kind == hostileNoBody:
							// DELETE reads no JSON: the garbage body must not
							// turn the missing-object answer into anything else.
							hostileWantError(t, r, e.missing, "")
						case c.syntax:
							hostileWantError(t, r, 400, e.malformed)
						default:
							hostileWantError(t, r, 400, "")
						}
						before = hostileSnapshot(t, g).checkSame(t, before)
					})
				}
			})
		}
	})
}

// TestHostileOversizedBodiesAreRefused sends a body over the 4 MiB default limit
// to every write operation: 413 with Tyk's status body, nothing stored.
func TestHostileOversizedBodiesAreRefused(t *testing.T) {
	onBothStores(t, nil, func(t *testing.T, g *gatewaytest.Gateway) {
		hostileSeed(t, g)
		before := hostileSnapshot(t, g)
		for _, e := range hostileEndpoints {
			t.Run(e.String(), func(t *testing.T) {
				kind := e.kind
				if kind == hostileNoBody {
					kind = hostileSessionBody
				}
				pad := `"` + strings.Repeat("a", hostileBodyLimit) + `"`
				body := hostileObject(hostileFields(kind, e.bodyID()), "meta_data", `{"pad":`+pad+`}`)
				r := g.Do(t, e.method, e.path(url.PathEscape(e.target)), body)
				hostileWantError(t, r, 413, hostileMsgTooBig)
				before = hostileSnapshot(t, g).checkSame(t, before)
			})
		}
	})
}

// hostileID is an ID segment for a path, and where needed its expected
// fate.
type hostileID struct {
	name    string
	segment string // as sent on the wire (already escaped)
	// id is what the server decodes the segment to.
	id string
	// unroutable: the decoded path has more segments than any route, so
	// the router answers Tyk's plain-text 404 before any operation runs.
	unroutable bool
	// usable: the ID is a legitimate (if unusual) name; operations that
	// create objects under the path ID accept it.
	usable bool
}

func hostileEscaped(name, id string, usable bool) hostileID {
	return hostileID{name: name, segment: url.PathEscape(id), id: id, usable: usable}
}

var hostileIDs = []hostileID{
	{name: "URL-encoded path traversal is an unknown route", segment: "..%2F..%2Fetc%2Fpasswd", unroutable: true},
	{name: "fully encoded path traversal is an unknown route", segment: "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", unroutable: true},
	{name: "raw path traversal is an unknown route", segment: "../../etc/passwd", unroutable: true},
	{name: "traversal into a sibling folder is an unknown route", segment: "..%2Fapps%2F" + hostileSeedAPI, unroutable: true},
	{name: "dot-dot is refused", segment: "..", id: ".."},
	{name: "encoded dot-dot is refused", segment: "%2E%2E", id: ".."},
	{name: "single dot is refused", segment: ".", id: "."},
	{name: "hidden-file name is refused", segment: ".hidden", id: ".hidden"},
	{name: "backslash traversal is refused", segment: "..%5C..%5Cetc%5Cpasswd", id: `..\..\etc\passwd`},
	{name: "encoded NUL is refused", segment: "%00", id: "\x00"},
	{name: "NUL inside an ID is refused", segment: "seed%00.json", id: "seed\x00.json"},
	{name: "NUL after a seeded ID is refused", segment: hostileSeedKey + "%00", id: hostileSeedKey + "\x00"},
	{name: "newline is refused", segment: "a%0Ab", id: "a\nb"},
	{name: "carriage return is refused", segment: "a%0D%0AX-Injected:%201", id: "a\r\nX-Injected: 1"},
	{name: "tab is refused", segment: "a%09b", id: "a\tb"},
	{name: "escape character is refused", segment: "a%1B%5B31mb", id: "a\x1b[31mb"},
	{name: "DEL character is refused", segment: "a%7Fb", id: "a\x7fb"},
	{name: "invalid UTF-8 is refused", segment: "%FF%FE", id: "\xff\xfe"},
	{name: "300-byte ID is refused", segment: strings.Repeat("k", 300), id: strings.Repeat("k", 300)},
	{name: "10 KB ID is refused", segment: strings.Repeat("k", 10<<10), id: strings.Repeat("k", 10<<10)},
	{name: "ID over the embedded store's key limit is refused", segment: strings.Repeat("k", 40<<10), id: strings.Repeat("k", 40<<10)},
	hostileEscaped("Cyrillic ID is accepted", "ключ", true),
	hostileEscaped("emoji ID is accepted", "🔑", true),
	hostileEscaped("right-to-left mark is accepted", "\u200fkey", true),
	hostileEscaped("right-to-left override is accepted", "abc\u202edcba", true),
	hostileEscaped("zero-width joiner is accepted", "a\u200db", true),
	hostileEscaped("glob characters are accepted and match nothing else", "*", true),
	hostileEscaped("Redis pattern brackets are accepted", "[a-z]?", true),
	hostileEscaped("Windows device name is accepted", "CON", true),
	hostileEscaped("percent sign is accepted literally", "100%", true),
}

// hostileIDOutcome is what one endpoint does with one hostile ID.
type hostileIDOutcome struct {
	status  int  // expected status
	plain   bool // Tyk's plain-text 404 for an unknown route
	created bool // the request legitimately creates an object under the ID
}

// outcome decides what endpoint e does with ID c. Operations that look an
// ID up only find nothing; operations that create under the path ID refuse
// unsafe IDs and accept usable ones.
func (e hostileEndpoint) outcome(c hostileID) hostileIDOutcome {
	if c.unroutable {
		return hostileIDOutcome{status: 404, plain: true}
	}
	creates := (e.family == "key" && e.method == "POST" && e.kind == hostileSessionBody) ||
		(e.family == "policy" && e.method == "PUT") ||
		(e.family == "org" && e.method != "DELETE")
	switch {
	case creates && c.usable:
		return hostileIDOutcome{status: 200, created: true}
	case creates:
		return hostileIDOutcome{status: 400}
	case e.family == "org": // DELETE of a missing org session
		return hostileIDOutcome{status: 400}
	}
	return hostileIDOutcome{status: 404}
}

// TestHostilePathIDs sends every hostile ID in the path of every operation
// that takes one, with an otherwise valid body (whose own ID, where it has
// one, is the same ID).
func TestHostilePathIDs(t *testing.T) {
	onBothStores(t, nil, func(t *testing.T, g *gatewaytest.Gateway) {
		hostileSeed(t, g)
		before := hostileSnapshot(t, g)
		for _, e := range hostileEndpoints {
			if e.family == "" {
				continue
			}
			t.Run(e.String(), func(t *testing.T) {
				for _, c := range hostileIDs {
					t.Run(c.name, func(t *testing.T) {
						body := ""
						if e.kind != hostileNoBody {
							body = hostileObject(hostileFields(e.kind, c.id))
						}
						want := e.outcome(c)
						r := g.Do(t, e.method, e.path(c.segment), body)
						switch {
						case want.plain:
							hostileWantPlain404(t, r)
						case want.created:
							hostileWantCreated(t, g, e.family, c.id, r)
						default:
							hostileWantError(t, r, want.status, "")
						}
						before = hostileSnapshot(t, g).checkSame(t, before)
					})
				}
			})
		}
	})
}

// TestHostileEmptyPathIDsAreRefused: an operation on a collection path without
// its ID is a known path with the wrong method, never a write.
func TestHostileEmptyPathIDsAreRefused(t *testing.T) {
	onBothStores(t, nil, func(t *testing.T, g *gatewaytest.Gateway) {
		hostileSeed(t, g)
		before := hostileSnapshot(t, g)
		for _, e := range hostileEndpoints {
			// POST /tyk/keys/ is POST /tyk/keys (a generated key) and
			// POST /tyk/keys/policy/ is the custom key named "policy":
			// both are other, valid operations.
			if e.family == "" || e.method == "POST" && e.family == "key" {
				continue
			}
			for _, seg := range []string{"", "/"} {
				t.Run(e.String()+" with ID "+strconv.Quote(seg), func(t *testing.T) {
					body := ""
					if e.kind != hostileNoBody {
						body = hostileObject(hostileFields(e.kind, ""))
					}
					r := g.Do(t, e.method, e.path(seg), body)
					hostileWantError(t, r, 0, "")
					before = hostileSnapshot(t, g).checkSame(t, before)
				})
			}
		}
	})
}

// hostileBodyID is a hostile ID inside a body.
type hostileBodyID struct {
	name   string
	id     string // decoded; sent JSON-escaped
	usable bool
}

var hostileBodyIDs = []hostileBodyID{
	{name: "empty ID is refused", id: ""},
	{name: "path traversal is refused", id: "../../etc/passwd"},
	{name: "traversal into the other folder is refused", id: "../apps/" + hostileSeedAPI},
	{name: "absolute path is refused", id: "/etc/passwd"},
	{name: "slash is refused", id: "a/b"},
	{name: "backslash traversal is refused", id: `..\..\etc\passwd`},
	{name: "dot-dot is refused", id: ".."},
	{name: "single dot is refused", id: "."},
	{name: "hidden-file name is refused", id: ".hidden"},
	{name: "temp-file name of the store is refused", id: ".tmp-123"},
	{name: "NUL is refused", id: "a\x00b"},
	{name: "NUL before .json is refused", id: hostileSeedAPI + "\x00"},
	{name: "newline is refused", id: "a\nb"},
	{name: "DEL character is refused", id: "a\x7fb"},
	{name: "300-byte ID is refused", id: strings.Repeat("p", 300)},
	{name: "10 KB ID is refused", id: strings.Repeat("p", 10<<10)},
	{name: "Cyrillic ID is accepted", id: "ключ", usable: true},
	{name: "emoji ID is accepted", id: "🔑", usable: true},
	{name: "right-to-left mark is accepted", id: "\u200fid", usable: true},
	{name: "right-to-left override is accepted", id: "abc\u202edcba", usable: true},
	{name: "glob characters are accepted", id: "*", usable: true},
	{name: "ID ending in .json is accepted", id: "x.json", usable: true},
}

// TestHostileBodyIDs sends hostile api_id and id values in API and policy
// bodies: creating refuses unsafe IDs (and accepts usable ones inside the
// folder), and an update whose body ID differs from a seeded path ID is
// refused.
func TestHostileBodyIDs(t *testing.T) {
	onBothStores(t, nil, func(t *testing.T, g *gatewaytest.Gateway) {
		hostileSeed(t, g)
		before := hostileSnapshot(t, g)
		ops := []struct {
			name, method, path, family string
			kind                       hostileBodyKind
			update                     bool // the path names a seeded object
		}{
			{"POST /tyk/policies", "POST", "/tyk/policies", "policy", hostilePolicyBody, false},
			{"PUT /tyk/policies/seeded", "PUT", "/tyk/policies/" + hostileSeedPolicy, "policy", hostilePolicyBody, true},
			{"POST /tyk/apis", "POST", "/tyk/apis", "api", hostileAPIBody, false},
			{"POST /tyk/apis as a version of the seeded API", "POST", "/tyk/apis?base_api_id=" + hostileSeedAPI + "&new_version_name=v2", "api", hostileAPIBody, false},
			{"PUT /tyk/apis/seeded", "PUT", "/tyk/apis/" + hostileSeedAPI, "api", hostileAPIBody, true},
		}
		for _, o := range ops {
			t.Run(o.name, func(t *testing.T) {
				for _, c := range hostileBodyIDs {
					t.Run(c.name, func(t *testing.T) {
						body := hostileObject(hostileFields(o.kind, c.id))
						r := g.Do(t, o.method, o.path, body)
						switch {
						case o.update:
							hostileWantError(t, r, 400, "")
						case c.id == "" && o.family == "api":
							// Tyk generates an api_id when the body has none:
							// an empty api_id is a valid create.
							hostileWantCreated(t, g, o.family, hostileCreatedKey(t, r), r)
						case c.usable:
							hostileWantCreated(t, g, o.family, c.id, r)
						default:
							hostileWantError(t, r, 400, "")
						}
						if strings.Contains(o.path, "base_api_id") && r.Status == 200 {
							// Restore the base API's versions to the seeded state.
							g.Do(t, "PUT", "/tyk/apis/"+hostileSeedAPI, hostileObject(hostileFields(hostileAPIBody, hostileSeedAPI)))
						}
						before = hostileSnapshot(t, g).checkSame(t, before)
					})
				}
			})
		}
	})
}

// TestHostileOrgIDsInNewKeys: the org_id of a new key starts its key ID,
// so an org_id that could not name an org session is refused, and a
// merely unusual one makes a readable key.
func TestHostileOrgIDsInNewKeys(t *testing.T) {
	onBothStores(t, nil, func(t *testing.T, g *gatewaytest.Gateway) {
		hostileSeed(t, g)
		before := hostileSnapshot(t, g)
		orgs := []struct {
			name, org string
			usable    bool
		}{
			{"org_id over the embedded store's key limit is refused", strings.Repeat("o", 40<<10), false},
			{"300-byte org_id is refused", strings.Repeat("o", 300), false},
			{"org_id with NUL is refused", "a\x00b", false},
			{"org_id with a newline is refused", "a\nb", false},
			{"org_id with a slash is refused", "../../etc", false},
			{"hidden-file org_id is refused", ".hidden", false},
			{"Cyrillic org_id is accepted", "ключ", true},
		}
		for _, path := range []string{"/tyk/keys", "/tyk/keys/create", "/tyk/keys/" + hostileNewID} {
			t.Run("POST "+path, func(t *testing.T) {
				for _, c := range orgs {
					t.Run(c.name, func(t *testing.T) {
						body := hostileObject(hostileFields(hostileSessionBody, ""), "org_id", hostileJSONString(c.org))
						r := g.Do(t, "POST", path, body)
						if c.usable {
							hostileWantCreated(t, g, "key", hostileCreatedKey(t, r), r)
						} else {
							hostileWantError(t, r, 400, "")
						}
						before = hostileSnapshot(t, g).checkSame(t, before)
					})
				}
			})
		}
	})
}

// TestHostileQueryParameters: query values outside their schema are
// refused before the operation runs.
func TestHostileQueryParameters(t *testing.T) {
	onBothStores(t, nil, func(t *testing.T, g *gatewaytest.Gateway) {
		hostileSeed(t, g)
		before := hostileSnapshot(t, g)
		session := hostileObject(hostileFields(hostileSessionBody, ""), "quota_max", "1")
		cases := []struct {
			name, method, path, body string
		}{
			{"suppress_reset other than 1 is refused", "PUT", "/tyk/keys/" + hostileSeedKey + "?suppress_reset=%00", session},
			{"hashed that is not a boolean is refused", "DELETE", "/tyk/keys/" + hostileSeedKey + "?hashed=maybe", ""},
			{"reset_quota with a NUL is refused", "POST", "/tyk/org/keys/" + hostileSeedOrg + "?reset_quota=%00", session},
			{"base_api_id with path traversal is refused", "POST", "/tyk/apis?base_api_id=..%2F..%2Fetc%2Fpasswd", hostileObject(hostileFields(hostileAPIBody, hostileNewID))},
			{"unknown base_api_id is refused", "POST", "/tyk/apis?base_api_id=" + hostileMissingID, hostileObject(hostileFields(hostileAPIBody, hostileNewID))},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				hostileWantError(t, g.Do(t, c.method, c.path, c.body), 400, "")
				before = hostileSnapshot(t, g).checkSame(t, before)
			})
		}
	})
}

// TestHostileFixturesAreAccepted is the control for the tables above: the
// bodies the hostile cases start from are accepted when nothing hostile is
// added, so a refusal there is caused by the hostile part.
func TestHostileFixturesAreAccepted(t *testing.T) {
	onBothStores(t, nil, func(t *testing.T, g *gatewaytest.Gateway) {
		hostileSeed(t, g)
		for _, e := range hostileEndpoints {
			if e.kind == hostileNoBody {
				continue
			}
			t.Run(e.String(), func(t *testing.T) {
				body := hostileObject(hostileFields(e.kind, e.bodyID()))
				if r := g.Do(t, e.method, e.path(url.PathEscape(e.target)), body); r.Status != 200 {
					t.Errorf("got %d %s, want 200", r.Status, r.Body)
				}
			})
		}
		for _, e := range hostileEndpoints {
			if e.kind != hostileNoBody {
				continue
			}
			seeded := map[string]string{"key": hostileSeedKey, "policy": hostileSeedPolicy, "api": hostileSeedAPI, "org": hostileSeedOrg}[e.family]
			t.Run(e.String(), func(t *testing.T) {
				if r := g.Do(t, e.method, e.path(url.PathEscape(seeded)), ""); r.Status != 200 {
					t.Errorf("got %d %s, want 200", r.Status, r.Body)
				}
				if r := g.Do(t, e.method, e.path(url.PathEscape(seeded)), ""); r.Status != e.missing {
					t.Errorf("deleting again: got %d %s, want %d", r.Status, r.Body, e.missing)
				}
			})
		}
	})
}

// TestHostileRawBytesInTheRequestLine: IDs with raw control bytes in the
// request line never reach the control API; net/http refuses the request.
func TestHostileRawBytesInTheRequestLine(t *testing.T) {
	onBothStores(t, nil, func(t *testing.T, g *gatewaytest.Gateway) {
		hostileSeed(t, g)
		before := hostileSnapshot(t, g)
		for _, b := range []string{"\x00", "\x01", "\x7f", " ", "\t"} {
			for _, e := range hostileEndpoints {
				if e.family == "" {
					continue
				}
				t.Run(e.String()+" "+strings.ToUpper(hex.EncodeToString([]byte(b))), func(t *testing.T) {
					status := hostileRawRequest(t, g, e.method, e.path("a"+b+"b"))
					if status < 400 || status >= 500 {
						t.Errorf("raw byte %q in the request line: got status %d, want 4xx", b, status)
					}
					before = hostileSnapshot(t, g).checkSame(t, before)
				})
			}
		}
	})
}

// hostileCreatedKey reads the "key" field of a write confirmation.
func hostileCreatedKey(t *testing.T, r gatewaytest.Response) string {
	t.Helper()
	var m struct{ Key string }
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil || m.Key == "" {
		t.Fatalf("expected a write confirmation with a key, got %d %q", r.Status, r.Body)
	}
	return m.Key
}

// hostileWantError checks a refusal: status (any 4xx when want is 0) and
// Tyk's {"status":"error","message":...} with a non-empty message (equal to
// msg when given).
func hostileWantError(t *testing.T, r gatewaytest.Response, want int, msg string) {
	t.Helper()
	if want == 0 && (r.Status < 400 || r.Status >= 500) || want != 0 && r.Status != want {
		wantText := "4xx"
		if want != 0 {
			wantText = strconv.Itoa(want)
		}
		t.Errorf("status: got %d, want %s; body %.300q", r.Status, wantText, r.Body)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Errorf("body is not JSON (%v): %.300q", err, r.Body)
		return
	}
	if m["status"] != "error" {
		t.Errorf(`body "status": got %v, want "error"; body %.300q`, m["status"], r.Body)
	}
	got, _ := m["message"].(string)
	if got == "" {
		t.Errorf("body has no message: %.300q", r.Body)
	}
	if msg != "" && got != msg {
		t.Errorf("message: got %q, want %q", got, msg)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type: got %q, want application/json", ct)
	}
}

// hostileWantPlain404 checks Tyk's plain-text answer to an unknown route.
func hostileWantPlain404(t *testing.T, r gatewaytest.Response) {
	t.Helper()
	if r.Status != 404 || r.Body != "404 page not found\n" {
		t.Errorf("unknown route: got %d %.300q, want 404 %q", r.Status, r.Body, "404 page not found\n")
	}
}

// hostileWantCreated checks a legitimately accepted write: 200, the object
// is readable under the same ID, and a file-backed object's file sits
// directly inside its folder. It then deletes the object, so the snapshot
// comparison that follows checks nothing else was touched.
func hostileWantCreated(t *testing.T, g *gatewaytest.Gateway, family, id string, r gatewaytest.Response) {
	t.Helper()
	if r.Status != 200 {
		t.Errorf("usable ID %q: got %d %.300q, want 200", id, r.Status, r.Body)
		return
	}
	if got := hostileCreatedKey(t, r); got != id {
		t.Errorf("confirmation names %q, want %q", got, id)
	}
	base := map[string]string{"key": "/tyk/keys/", "policy": "/tyk/policies/", "api": "/tyk/apis/", "org": "/tyk/org/keys/"}[family]
	path := base + url.PathEscape(id)
	get := g.Do(t, "GET", path, "")
	if get.Status != 200 {
		t.Errorf("GET %s after creating it: got %d %.300q, want 200", path, get.Status, get.Body)
	}
	var doc map[string]any
	_ = json.Unmarshal([]byte(get.Body), &doc)
	switch family {
	case "policy":
		if doc["id"] != id {
			t.Errorf("GET %s: id is %v, want %q", path, doc["id"], id)
		}
		hostileWantFileInside(t, filepath.Join(g.Dir, "policies"), id)
	case "api":
		if doc["api_id"] != id {
			t.Errorf("GET %s: api_id is %v, want %q", path, doc["api_id"], id)
		}
		hostileWantFileInside(t, filepath.Join(g.Dir, "apps"), id)
	}
	if del := g.Do(t, "DELETE", path, ""); del.Status != 200 {
		t.Errorf("DELETE %s: got %d %.300q, want 200", path, del.Status, del.Body)
	}
}

// hostileWantFileInside checks that <dir>/<id>.json exists and is a plain
// file directly in dir.
func hostileWantFileInside(t *testing.T, dir, id string) {
	t.Helper()
	p := filepath.Join(dir, id+".json")
	if filepath.Dir(p) != dir {
		t.Errorf("file for %q would be %s, outside %s", id, p, dir)
		return
	}
	if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("expected the file %s: %v", p, err)
	}
}

// hostileSeed stores one API, policy, custom key, generated key and org
// session.
func hostileSeed(t *testing.T, g *gatewaytest.Gateway) {
	t.Helper()
	steps := []struct{ method, path, body string }{
		{"POST", "/tyk/apis", hostileObject(hostileFields(hostileAPIBody, hostileSeedAPI))},
		{"POST", "/tyk/policies", hostileObject(hostileFields(hostilePolicyBody, hostileSeedPolicy))},
		{"POST", "/tyk/keys/" + hostileSeedKey, hostileObject(hostileFields(hostileSessionBody, ""), "apply_policies", `["`+hostileSeedPolicy+`"]`)},
		{"POST", "/tyk/keys/create", hostileObject(hostileFields(hostileSessionBody, ""), "alias", `"generated"`)},
		{"POST", "/tyk/org/keys/" + hostileSeedOrg, hostileObject(hostileFields(hostileSessionBody, ""), "quota_max", "100")},
	}
	for _, s := range steps {
		if r := g.Do(t, s.method, s.path, s.body); r.Status != 200 {
			t.Fatalf("seeding %s %s: got %d %s", s.method, s.path, r.Status, r.Body)
		}
	}
}

// hostileState is everything a client or the file system can see of the
// stored objects, by name.
type hostileState map[string]string

// hostileSnapshot reads the key, policy, API and org listings, each seeded
// object, the files under the gateway's folder and the names next to it.
func hostileSnapshot(t *testing.T, g *gatewaytest.Gateway) hostileState {
	t.Helper()
	s := hostileState{}
	get := func(path string) {
		r := g.Do(t, "GET", path, "")
		s["GET "+hostileClip(path)] = strconv.Itoa(r.Status) + " " + r.Body
	}
	for _, list := range []struct{ path, item string }{{"/tyk/keys", "/tyk/keys/"}, {"/tyk/org/keys", "/tyk/org/keys/"}} {
		var m struct{ Keys []string }
		body := g.Do(t, "GET", list.path, "").Body
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("GET %s: %v: %s", list.path, err, body)
		}
		sort.Strings(m.Keys)
		for _, k := range m.Keys {
			s["listed by GET "+list.path+": "+hostileClip(k)] = ""
			get(list.item + url.PathEscape(k))
		}
	}
	get("/tyk/policies")
	get("/tyk/apis")
	for _, p := range []string{"/tyk/policies/" + hostileSeedPolicy, "/tyk/apis/" + hostileSeedAPI} {
		get(p)
	}
	// Every file under the gateway's folder; the embedded store's data
	// file changes on any write, so only its name counts.
	err := filepath.WalkDir(g.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(g.Dir, p)
		switch {
		case d.IsDir():
			s["dir "+rel] = ""
		case strings.HasPrefix(rel, "data"+string(filepath.Separator)):
			s["file "+rel] = "(data)"
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			s["file "+rel] = hex.EncodeToString(sum[:])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing may appear beside the gateway's folder (a traversal from
	// apps/ or policies/ lands there), nor as a .json file or etc/ in the
	// working directory (where a store with no folder would write).
	for _, dir := range []string{filepath.Dir(g.Dir), "."} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if dir == "." && !strings.HasSuffix(e.Name(), ".json") && e.Name() != "etc" && !strings.HasPrefix(e.Name(), ".tmp-") {
				continue
			}
			s["beside "+dir+": "+e.Name()] = ""
		}
	}
	return s
}

// checkSame reports the differences between s and before as an error, and
// returns s as the state the next case starts from (so one failure does not
// make every later case fail too).
func (s hostileState) checkSame(t *testing.T, before hostileState) hostileState {
	t.Helper()
	var diffs []string
	for k, v := range before {
		if got, ok := s[k]; !ok {
			diffs = append(diffs, "gone: "+k)
		} else if got != v {
			diffs = append(diffs, "changed: "+k+"\n  before: "+hostileClip(v)+"\n  after:  "+hostileClip(got))
		}
	}
	for k := range s {
		if _, ok := before[k]; !ok {
			diffs = append(diffs, "new: "+hostileClip(k))
		}
	}
	if len(diffs) > 0 {
		sort.Strings(diffs)
		t.Errorf("stored state changed:\n%s", strings.Join(diffs, "\n"))
	}
	return s
}

func hostileClip(s string) string {
	if len(s) > 120 {
		return fmt.Sprintf("%s... (%d bytes)", s[:120], len(s))
	}
	return s
}

// hostileRawRequest writes a request line byte for byte (the Go client
// refuses to send control bytes) and returns the status of the reply.
func hostileRawRequest(t *testing.T, g *gatewaytest.Gateway, method, path string) int {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := method + " " + path + " HTTP/1.1\r\nHost: gateway\r\nX-Tyk-Authorization: " + gatewaytest.Secret +
		"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %q: no HTTP reply: %v", method, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
