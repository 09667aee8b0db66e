package jsvm

import (
	"github.com/dop251/goja"
)

// fastResult reads the usual result shape, ReturnData(request, {...})
// with the request object the script was given, straight from the
// JavaScript values, skipping the JSON round trip. It handles only values
// whose JSON decoding is plain: strings, integers, booleans, plain objects
// and arrays of those, with keys in Tyk's exact case. Anything else (a key
// in another case, null inside a map, a Date, an object with toJSON,
// Session and AuthValue, extra properties) makes it report false, and
// readResult decodes JSON instead, which gives the exact behaviour.
func fastResult(obj *goja.Object, rq *reqObject, out *outcome) bool {
	for _, k := range obj.Keys() {
		switch k {
		case "Request":
		case "SessionMeta":
			val := obj.Get(k)
			if absent(val) {
				continue
			}
			m, ok := stringMap(val)
			if !ok {
				return false
			}
			out.SessionMeta = m
		default:
			return false
		}
	}
	if len(rq.extraKeys) > 0 {
		return false
	}
	wr := &out.Request
	for _, f := range rq.exposed {
		val := rq.vals[f]
		if val == nil || f == fHeaders || f == fBody || absent(val) {
			continue
		}
		ok := true
		switch f {
		case fSetHeaders:
			wr.SetHeaders, ok = stringMap(val)
		case fAddParams:
			wr.AddParams, ok = stringMap(val)
		case fDeleteHeaders:
			wr.DeleteHeaders, ok = stringList(val)
		case fDeleteParams:
			wr.DeleteParams, ok = stringList(val)
		case fExtendedParams:
			wr.ExtendedParams, ok = listMap(val)
		case fReturnOverrides:
			wr.ReturnOverrides, ok = overridesOf(val)
		case fURL:
			if rq.set[f] {
				wr.URL, ok = str(val)
			}
		case fIgnoreBody:
			if rq.set[f] {
				wr.IgnoreBody, ok = val.Export().(bool)
				ok = ok && isPrimitive(val)
			}
		default: // Params, Method, RequestURI, Scheme: ignored unless replaced
			ok = !rq.set[f]
		}
		if !ok {
			return false
		}
	}
	return true
}

func absent(v goja.Value) bool { return v == nil || goja.IsUndefined(v) || goja.IsNull(v) }

func isPrimitive(v goja.Value) bool { _, obj := v.(*goja.Object); return !obj }

func str(v goja.Value) (string, bool) {
	if s, ok := v.(goja.String); ok {
		return s.String(), true
	}
	return "", false
}

// plain returns v as an object JSON.stringify would write member by
// member: of class Object (not an array, function, Date, boxed value...)
// and without a toJSON method.
func plain(v goja.Value, class string) (*goja.Object, bool) {
	o, ok := v.(*goja.Object)
	if !ok || o.ClassName() != class {
		return nil, false
	}
	if _, hasToJSON := goja.AssertFunction(o.Get("toJSON")); hasToJSON {
		return nil, false
	}
	return o, true
}

func stringMap(v goja.Value) (map[string]string, bool) {
	o, ok := plain(v, "Object")
	if !ok {
		return nil, false
	}
	keys := o.Keys()
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		s, ok := str(o.Get(k))
		if !ok {
			return nil, false
		}
		m[k] = s
	}
	return m, true
}

func stringList(v goja.Value) ([]string, bool) {
	o, ok := plain(v, "Array")
	if !ok {
		return nil, false
	}
	items, ok := o.Export().([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, len(items))
	for i, it := range items {
		if out[i], ok = it.(string); !ok {
			return nil, false
		}
	}
	return out, true
}

func listMap(v goja.Value) (map[string][]string, bool) {
	o, ok := plain(v, "Object")
	if !ok {
		return nil, false
	}
	keys := o.Keys()
	m := make(map[string][]string, len(keys))
	for _, k := range keys {
		l, ok := stringList(o.Get(k))
		if !ok {
			return nil, false
		}
		m[k] = l
	}
	return m, true
}

func overridesOf(v goja.Value) (overrides, bool) {
	var ro overrides
	o, ok := plain(v, "Object")
	if !ok {
		return ro, false
	}
	for _, k := range o.Keys() {
		val := o.Get(k)
		switch k {
		case "ResponseCode":
			n, isInt := val.Export().(int64)
			if !isInt || !isPrimitive(val) {
				return ro, false
			}
			ro.ResponseCode = int(n)
		case "ResponseError":
			ro.ResponseError, ok = str(val)
		case "ResponseBody":
			ro.ResponseBody, ok = str(val)
		case "ResponseHeaders":
			if !goja.IsNull(val) {
				ro.ResponseHeaders, ok = stringMap(val)
			}
		case "OverrideError":
			ro.OverrideError, ok = val.Export().(bool)
			ok = ok && isPrimitive(val)
		default:
			return ro, false
		}
		if !ok {
			return ro, false
		}
	}
	return ro, true
}
