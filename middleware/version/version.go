// Package version is Tyk's VersionCheck, the first stage of every API: it
// resolves the version a request is for (classic version_data, or
// base/child versioning, which hands the request to the child API's
// chain), refuses expired APIs and versions, answers mock responses, and
// applies the allow, deny, ignore and internal path lists.
package version

import (
	"fmt"
	"net/http"
	"net/textproto"
	"sort"
	"strconv"
	"time"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
	"github.com/tollgate/tollgate/middleware/paths"
)

// Messages, as Tyk words them.
const (
	MsgNotFound       = "Version information not found"
	MsgDoesNotExist   = "This API version does not seem to exist"
	MsgVersionExpired = "Api Version has expired, please check documentation or contact administrator"
	MsgAPIExpired     = "API has expired, please check documentation or contact administrator"
	MsgForbidden      = "Requested endpoint is forbidden"
)

// HeaderExpires carries the API's (or version's) expiry date on success.
const HeaderExpires = "X-Tyk-Api-Expires"

// expiryLayout is the format of expiration and version expires dates (UTC).
const expiryLayout = "2006-01-02 15:04"

// Refusals are shared: stages never change an *chain.Error after returning it.
var (
	errNotFound       = chain.Fail(http.StatusForbidden, MsgNotFound)
	errDoesNotExist   = chain.Fail(http.StatusForbidden, MsgDoesNotExist)
	errChildMissing   = chain.Fail(http.StatusNotFound, MsgDoesNotExist)
	errVersionExpired = chain.Fail(http.StatusForbidden, MsgVersionExpired)
	errAPIExpired     = chain.Fail(http.StatusForbidden, MsgAPIExpired)
	errForbidden      = chain.Fail(http.StatusForbidden, MsgForbidden)
	errFallback       = chain.Fail(http.StatusInternalServerError, http.StatusText(http.StatusInternalServerError))
)

type location uint8

const (
	fromNowhere location = iota
	fromHeader
	fromParam
	fromURL
)

// Check is the VersionCheck stage of one API.
type Check struct {
	env *chain.Env
	now func() time.Time

	apiID        string
	notVersioned bool
	served       *version            // the version of a not-versioned API
	versions     map[string]*version // by key of version_data.versions
	defaultName  string              // version_data.default_version
	fallback     bool                // definition.fallback_to_default

	// Where the version name is read from.
	loc    location
	key    string // header (canonical) or query parameter name
	strip  bool   // strip_versioning_data or strip_path
	listen string // proxy.listen_path, for url versions
	slug   string

	// Base/child versioning (definition.enabled).
	children     bool
	baseName     string            // definition.name
	childDefault string            // definition.default
	childIDs     map[string]string // definition.versions
	stripListen  bool              // proxy.strip_listen_path, applied before the hand-off

	apiExpiry expiry
}

// version is one compiled version_data entry.
type version struct {
	name      string
	expiry    expiry
	internal  []pathMethod
	rules     []rule // mock, ignored, black list, white list: Tyk's order
	whitelist bool
}

// expiry is a parsed expiration date. An unparseable date counts as
// expired, as in Tyk.
type expiry struct {
	set    bool
	at     time.Time // zero when the date did not parse
	header string    // RFC 1123, for X-Tyk-Api-Expires; empty when unparsed
}

func parseExpiry(s string) expiry {
	if s == "" || s == "-1" {
		return expiry{}
	}
	t, err := time.Parse(expiryLayout, s)
	if err != nil {
		return expiry{set: true}
	}
	return expiry{set: true, at: t, header: t.Format(time.RFC1123)}
}

func (e *expiry) expired(now time.Time) bool {
	return e.set && (e.at.IsZero() || !now.Before(e.at))
}

type pathMethod struct {
	re     *paths.Pattern
	method string
}

type ruleKind uint8

const (
	kindMock ruleKind = iota
	kindIgnored
	kindBlack
	kindWhite
)

type rule struct {
	kind   ruleKind
	re     *paths.Pattern
	method string // "" matches any method, except for mock entries
	// actions is the legacy method_actions of an entry; when present it
	// decides which methods match and what happens.
	actions map[string]action
	reply   *reply // mock entries
}

type action struct {
	kind  string // "no_action", "reply", anything else refuses
	reply *reply
}

// reply is a canned response (mock_response, or a legacy "reply" action).
type reply struct {
	code        int
	body        []byte
	headers     [][2]string // canonical name, value
	contentType bool        // headers set Content-Type
}

type outcome uint8

const (
	pass outcome = iota
	ignore
	forbid
	respond
)

// New builds the version check. It returns nil for a not-versioned API
// without base/child versioning, expiry dates or path lists: there is
// nothing to check.
func New(def *apidef.Definition, env *chain.Env) (chain.Stage, error) {
	ignoreCase := paths.IgnoreCase(env)
	c := &Check{
		env:          env,
		now:          time.Now,
		apiID:        def.APIID,
		notVersioned: def.VersionData.NotVersioned,
		defaultName:  def.VersionData.DefaultVersion,
		fallback:     def.Definition.FallbackToDefault,
		strip:        def.Definition.StripVersioningData || def.Definition.StripPath,
		listen:       def.Proxy.ListenPath,
		slug:         def.Slug,
		children:     def.Definition.Enabled,
		baseName:     def.Definition.Name,
		childDefault: def.Definition.Default,
		childIDs:     def.Definition.Versions,
		stripListen:  def.Proxy.StripListenPath,
		apiExpiry:    parseExpiry(def.Expiration),
	}
	if env != nil && env.Now != nil {
		c.now = env.Now
	}
	switch def.Definition.Location {
	case "header":
		c.loc, c.key = fromHeader, textproto.CanonicalMIMEHeaderKey(def.Definition.Key)
	case "url-param":
		c.loc, c.key = fromParam, def.Definition.Key
	case "url":
		c.loc = fromURL
	}
	if c.notVersioned {
		key, vi, ok := paths.Served(def.VersionData)
		v := &version{}
		if ok {
			var err error
			if v, err = compile(key, vi, ignoreCase); err != nil {
				return nil, err
			}
		}
		c.served = v
		if !c.children && !c.apiExpiry.set && !v.expiry.set && len(v.rules) == 0 && len(v.internal) == 0 {
			return nil, nil
		}
		return c, nil
	}
	c.versions = make(map[string]*version, len(def.VersionData.Versions))
	for key, vi := range def.VersionData.Versions {
		v, err := compile(key, vi, ignoreCase)
		if err != nil {
			return nil, fmt.Errorf("version %q: %w", key, err)
		}
		c.versions[key] = v
	}
	return c, nil
}

// compile builds one version's path lists. Without use_extended_paths
// only the legacy string lists apply, as in Tyk.
func compile(key string, vi apidef.VersionInfo, globalIgnoreCase bool) (*version, error) {
	v := &version{name: paths.VersionName(key, vi), expiry: parseExpiry(vi.Expires)}
	add := func(k ruleKind, pattern, method string, ignoreCase bool, actions map[string]apidef.EndpointMethodMeta, rep *reply) error {
		re, err := paths.Compile(pattern, ignoreCase || globalIgnoreCase)
		if err != nil {
			return err
		}
		ru := rule{kind: k, re: re, method: method, reply: rep}
		if actions != nil {
			ru.actions = make(map[string]action, len(actions))
			for m, a := range actions {
				ac := action{kind: a.Action}
				if a.Action == "reply" {
					ac.reply = newReply(a.Code, a.Data, a.Headers)
				}
				ru.actions[m] = ac
			}
		}
		v.rules = append(v.rules, ru)
		if k == kindWhite {
			v.whitelist = true
		}
		return nil
	}
	if !vi.UseExtendedPaths {
		lists := []struct {
			k   ruleKind
			pat []string
		}{{kindIgnored, vi.Paths.Ignored}, {kindBlack, vi.Paths.BlackList}, {kindWhite, vi.Paths.WhiteList}}
		for _, l := range lists {
			for _, p := range l.pat {
				if err := add(l.k, p, "", false, nil, nil); err != nil {
					return nil, err
				}
			}
		}
		return v, nil
	}
	ep := vi.ExtendedPaths
	for _, m := range ep.MockResponse {
		if m.Disabled {
			continue
		}
		if err := add(kindMock, m.Path, m.Method, m.IgnoreCase || vi.IgnoreEndpointCase, nil, newReply(m.Code, m.Body, m.Headers)); err != nil {
			return nil, err
		}
	}
	lists := []struct {
		k       ruleKind
		entries []apidef.EndpointMeta
	}{{kindIgnored, ep.Ignored}, {kindBlack, ep.BlackList}, {kindWhite, ep.WhiteList}}
	for _, l := range lists {
		for _, e := range l.entries {
			if e.Disabled {
				continue
			}
			if err := add(l.k, e.Path, e.Method, e.IgnoreCase || vi.IgnoreEndpointCase, e.MethodActions, nil); err != nil {
				return nil, err
			}
		}
	}
	for _, e := range ep.Internal {
		if e.Disabled {
			continue
		}
		re, err := paths.Compile(e.Path, globalIgnoreCase)
		if err != nil {
			return nil, err
		}
		v.internal = append(v.internal, pathMethod{re: re, method: e.Method})
	}
	return v, nil
}

func newReply(code int, body string, headers map[string]string) *reply {
	if code == 0 {
		code = http.StatusOK
	}
	rp := &reply{code: code, body: []byte(body)}
	for k, v := range headers {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		rp.headers = append(rp.headers, [2]string{ck, v})
		if ck == "Content-Type" {
			rp.contentType = true
		}
	}
	sort.Slice(rp.headers, func(i, j int) bool { return rp.headers[i][0] < rp.headers[j][0] })
	return rp
}

// write answers with the canned response: its status, headers and body,
// and no Content-Type unless the headers give one.
func (rp *reply) write(w http.ResponseWriter) {
	h := w.Header()
	for _, kv := range rp.headers {
		h[kv[0]] = append(h[kv[0]], kv[1])
	}
	if !rp.contentType {
		h["Content-Type"] = nil // no sniffed type
	}
	h["Content-Length"] = []string{strconv.Itoa(len(rp.body))}
	w.WriteHeader(rp.code)
	_, _ = w.Write(rp.body)
}

func (*Check) Name() string { return "VersionCheck" }

// ProcessRequest resolves the version and applies its path lists.
func (c *Check) ProcessRequest(w http.ResponseWriter, r *http.Request, req *chain.Request) error {
	var requested string
	if !c.notVersioned || c.children {
		requested = c.fromRequest(r)
	}
	if c.children {
		target := requested
		if target == "" {
			target = c.childDefault
		}
		if !c.isBase(target) {
			if err := c.handOff(w, r, target); err != nil {
				return err
			}
		}
	}
	v, err := c.version(requested)
	if err != nil {
		return err
	}
	now := c.now()
	if c.apiExpiry.expired(now) {
		return errAPIExpired
	}
	if !c.notVersioned && v.expiry.expired(now) {
		return errVersionExpired
	}
	switch out, rp := v.match(r.Method, r.URL.Path); out {
	case forbid:
		return errForbidden
	case respond:
		rp.write(w)
		return chain.ErrHandled
	case ignore:
		req.Ignored = true
	}
	if c.apiExpiry.header != "" {
		w.Header().Set(HeaderExpires, c.apiExpiry.header)
	} else if v.expiry.header != "" {
		w.Header().Set(HeaderExpires, v.expiry.header)
	}
	req.Version = v.name
	return nil
}

func (c *Check) isBase(name string) bool { return name == "self" || name == c.baseName }

// handOff serves the request with the child API of version target. It
// returns nil when the request stays with this (base) API.
func (c *Check) handOff(w http.ResponseWriter, r *http.Request, target string) error {
	if target == "" {
		return errNotFound
	}
	child, ok := c.child(c.childIDs[target])
	if !ok {
		if !c.fallback {
			return errChildMissing
		}
		if c.isBase(c.childDefault) {
			return nil
		}
		id, ok := c.childIDs[c.childDefault]
		if !ok {
			return errFallback
		}
		if child, ok = c.child(id); !ok {
			return errFallback
		}
	}
	if child == nil { // the version names this API itself
		return nil
	}
	if c.stripListen {
		r.URL.Path = paths.Strip(c.listen, r.URL.Path)
		if r.URL.RawPath != "" {
			r.URL.RawPath = paths.Strip(c.listen, r.URL.RawPath)
		}
	}
	child.ServeHTTP(w, r)
	return chain.ErrHandled
}

// child finds a loaded API by ID or name; a nil API with ok means this
// API itself.
func (c *Check) child(id string) (*chain.API, bool) {
	if id == "" || c.env == nil || c.env.Chain == nil {
		return nil, false
	}
	a, ok := c.env.Chain(id)
	if !ok {
		return nil, false
	}
	if a.Def.APIID == c.apiID {
		return nil, true
	}
	return a, true
}

// version picks the version_data entry for the requested name.
func (c *Check) version(requested string) (*version, error) {
	if c.notVersioned {
		return c.served, nil
	}
	name := requested
	if name == "" {
		if c.defaultName == "" {
			return nil, errNotFound
		}
		name = c.defaultName
	}
	if v, ok := c.versions[name]; ok {
		return v, nil
	}
	if c.fallback {
		if v, ok := c.versions[c.defaultName]; ok {
			return v, nil
		}
	}
	return nil, errDoesNotExist
}

// match applies the internal list, then the first matching entry of the
// mock, ignored, black and white lists; with a white list, anything else
// is forbidden. Paths are matched in full, listen path included.
func (v *version) match(method, path string) (outcome, *reply) {
	for i := range v.internal {
		// Internal endpoints are only reachable by looping, which a
		// request from a client never is.
		if in := &v.internal[i]; in.method == method && in.re.MatchString(path) {
			return forbid, nil
		}
	}
	for i := range v.rules {
		ru := &v.rules[i]
		if ru.actions != nil {
			a, ok := ru.actions[method]
			if !ok || !ru.re.MatchString(path) {
				continue
			}
			switch a.kind {
			case "no_action":
				return ru.kind.outcome(), nil
			case "reply":
				return respond, a.reply
			default:
				return forbid, nil
			}
		}
		switch {
		case ru.kind == kindMock:
			if ru.method != method {
				continue
			}
		case ru.method != "" && ru.method != method:
			continue
		}
		if !ru.re.MatchString(path) {
			continue
		}
		if ru.kind == kindMock {
			return respond, ru.reply
		}
		return ru.kind.outcome(), nil
	}
	if v.whitelist {
		return forbid, nil
	}
	return pass, nil
}

func (k ruleKind) outcome() outcome {
	switch k {
	case kindIgnored:
		return ignore
	case kindBlack:
		return forbid
	}
	return pass
}
