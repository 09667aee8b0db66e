// Package paths holds what the per-path stages share: Tyk's path patterns
// compiled to regular expressions, the path those patterns are matched
// against, and picking a version's rules for a request.
//
// Tyk path patterns are unanchored regular expressions in which a {name}
// placeholder stands for one path segment. They are compiled once, when an
// API's chain is built; matching a request allocates nothing.
package paths

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/middleware/chain"
)

// placeholder is a {name} segment of a path pattern.
var placeholder = regexp.MustCompile(`{([^}]*)}`)

// Pattern is a compiled Tyk path pattern.
type Pattern struct {
	re *regexp.Regexp
	// lits are literals every match contains: a path without one of them
	// is rejected without running the regular expression.
	lits []string
}

// Compile turns a Tyk path pattern into its regular expression: each {name}
// becomes ([^/]*), and (?i) goes in front when ignoreCase. The expression
// is not anchored, so it matches anywhere in the path.
func Compile(pattern string, ignoreCase bool) (*Pattern, error) {
	expr := placeholder.ReplaceAllString(pattern, `([^/]*)`)
	if ignoreCase {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("path %q is not a valid pattern: %v", pattern, err)
	}
	p := &Pattern{re: re}
	if tree, err := syntax.Parse(expr, syntax.Perl); err == nil {
		p.lits = requiredLiterals(tree, nil)
	}
	return p, nil
}

// MatchString reports whether the pattern matches anywhere in path.
func (p *Pattern) MatchString(path string) bool {
	for _, l := range p.lits {
		if !strings.Contains(path, l) {
			return false
		}
	}
	return p.re.MatchString(path)
}

// String is the regular expression.
func (p *Pattern) String() string { return p.re.String() }

// requiredLiterals appends the case-sensitive literals that every match
// of re contains.
func requiredLiterals(re *syntax.Regexp, lits []string) []string {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase == 0 {
			lits = append(lits, string(re.Rune))
		}
	case syntax.OpCapture, syntax.OpPlus:
		lits = requiredLiterals(re.Sub[0], lits)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			lits = requiredLiterals(re.Sub[0], lits)
		}
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			lits = requiredLiterals(sub, lits)
		}
	}
	return lits
}

// Strip returns the path that per-path rules other than the allow, deny,
// ignore, mock and internal lists match: the listen path removed (unless
// it is "/") and a leading slash ensured. It allocates only when the
// remainder has no leading slash.
func Strip(listenPath, path string) string {
	if listenPath != "/" {
		trimmed := strings.TrimSuffix(listenPath, "/")
		if trimmed != "" && strings.HasPrefix(path, trimmed) {
			path = path[len(trimmed):]
		}
	}
	if path == "" || path[0] != '/' {
		return "/" + path
	}
	return path
}

// Rule is a compiled path and method with its payload. The method must
// match exactly, as Tyk matches every per-path rule other than the allow,
// deny and ignore lists (so an empty method matches nothing).
type Rule[T any] struct {
	Re     *Pattern
	Method string
	Value  T
}

// First returns the value of the first rule whose method is method and
// whose pattern matches path.
func First[T any](rules []Rule[T], method, path string) (T, bool) {
	for i := range rules {
		if rules[i].Method == method && rules[i].Re.MatchString(path) {
			return rules[i].Value, true
		}
	}
	var zero T
	return zero, false
}

// IgnoreCase reports whether the gateway config asks for case-insensitive
// endpoint matching (ignore_endpoint_case).
func IgnoreCase(env *chain.Env) bool {
	return env != nil && env.Config != nil && env.Config.IgnoreEndpointCase
}

// VersionName is the name a version entry goes by: its name field, or its
// key in version_data.versions when the field is empty. It is what
// chain.Request.Version holds and what access rights list.
func VersionName(key string, v apidef.VersionInfo) string {
	if v.Name != "" {
		return v.Name
	}
	return key
}

// Served returns the version a not-versioned API serves. Tyk takes an
// arbitrary entry of version_data.versions; Tollgate takes the only entry,
// else the default_version entry, else "Default", else the first key in
// sorted order, so the choice is stable. ok is false when there is none.
func Served(vd apidef.VersionData) (key string, v apidef.VersionInfo, ok bool) {
	if len(vd.Versions) == 0 {
		return "", apidef.VersionInfo{}, false
	}
	if len(vd.Versions) == 1 {
		for k, v := range vd.Versions {
			return k, v, true
		}
	}
	for _, k := range []string{vd.DefaultVersion, "Default"} {
		if v, ok := vd.Versions[k]; ok && k != "" {
			return k, v, true
		}
	}
	keys := make([]string, 0, len(vd.Versions))
	for k := range vd.Versions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys[0], vd.Versions[keys[0]], true
}

// ByVersion holds one stage's compiled configuration per version, looked
// up by the version the version check resolved (chain.Request.Version).
// For a not-versioned API it is the configuration of the version served.
type ByVersion[T any] struct {
	only   *T
	byName map[string]*T
}

// Build compiles the configuration of every version of def with compile,
// which returns nil for a version where the stage has nothing to do. The
// result is nil when no version needs the stage.
func Build[T any](def *apidef.Definition, compile func(v apidef.VersionInfo) (*T, error)) (*ByVersion[T], error) {
	vd := def.VersionData
	if vd.NotVersioned {
		_, v, ok := Served(vd)
		if !ok {
			return nil, nil
		}
		c, err := compile(v)
		if err != nil || c == nil {
			return nil, err
		}
		return &ByVersion[T]{only: c}, nil
	}
	var byName map[string]*T
	for key, v := range vd.Versions {
		c, err := compile(v)
		if err != nil {
			return nil, fmt.Errorf("version %q: %w", key, err)
		}
		if c == nil {
			continue
		}
		if byName == nil {
			byName = map[string]*T{}
		}
		byName[VersionName(key, v)] = c
	}
	if byName == nil {
		return nil, nil
	}
	return &ByVersion[T]{byName: byName}, nil
}

// For returns the configuration for the request's version, or nil.
func (b *ByVersion[T]) For(req *chain.Request) *T {
	if b.only != nil {
		return b.only
	}
	return b.byName[req.Version]
}

// PathRules is one stage's per-version list of path rules from
// extended_paths, matched on the path with the listen path removed.
type PathRules[T any] struct {
	listen   string
	versions *ByVersion[[]Rule[T]]
}

// Entry is one extended_paths entry as a stage sees it.
type Entry[T any] struct {
	Path, Method string
	Value        T
}

// BuildRules compiles, for every version with use_extended_paths, the
// entries that entries returns (an error names the section). The result
// is nil when no version has any, so the stage can leave the chain.
func BuildRules[T any](def *apidef.Definition, env *chain.Env, section string,
	entries func(v apidef.VersionInfo) ([]Entry[T], error)) (*PathRules[T], error) {
	ignoreCase := IgnoreCase(env)
	vs, err := Build(def, func(v apidef.VersionInfo) (*[]Rule[T], error) {
		if !v.UseExtendedPaths {
			return nil, nil
		}
		list, err := entries(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", section, err)
		}
		var rules []Rule[T]
		for _, e := range list {
			re, err := Compile(e.Path, ignoreCase)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", section, err)
			}
			rules = append(rules, Rule[T]{Re: re, Method: e.Method, Value: e.Value})
		}
		if len(rules) == 0 {
			return nil, nil
		}
		return &rules, nil
	})
	if err != nil || vs == nil {
		return nil, err
	}
	return &PathRules[T]{listen: def.Proxy.ListenPath, versions: vs}, nil
}

// Match returns the value of the first rule for the request's version,
// method and path.
func (p *PathRules[T]) Match(method, path string, req *chain.Request) (T, bool) {
	rules := p.versions.For(req)
	if rules == nil {
		var zero T
		return zero, false
	}
	return First(*rules, method, Strip(p.listen, path))
}
