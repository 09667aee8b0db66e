package jsvm

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/dop251/goja"
)

// field is one property of the request object scripts get.
type field int

const (
	fHeaders field = iota
	fSetHeaders
	fDeleteHeaders
	fBody
	fURL
	fParams
	fAddParams
	fExtendedParams
	fDeleteParams
	fReturnOverrides
	fIgnoreBody
	fMethod
	fRequestURI
	fScheme
	nFields
)

// fieldNames are Tyk's property names, in Tyk's order.
var fieldNames = [nFields]string{
	"Headers", "SetHeaders", "DeleteHeaders", "Body", "URL", "Params", "AddParams",
	"ExtendedParams", "DeleteParams", "ReturnOverrides", "IgnoreBody", "Method", "RequestURI", "Scheme",
}

// shape is what one kind of call exposes.
type shape struct {
	fields []field
	// virtual: Params include an url-encoded form body, and Headers have
	// no Host entry.
	virtual bool
}

// Middleware gets the whole request object, a virtual endpoint and a
// response hook read-only subsets.
var (
	middlewareShape = shape{fields: []field{fHeaders, fSetHeaders, fDeleteHeaders, fBody, fURL, fParams, fAddParams,
		fExtendedParams, fDeleteParams, fReturnOverrides, fIgnoreBody, fMethod, fRequestURI, fScheme}}
	virtualShape  = shape{fields: []field{fHeaders, fBody, fURL, fParams, fScheme}, virtual: true}
	responseShape = shape{fields: []field{fHeaders, fURL, fParams, fMethod, fRequestURI, fScheme}}
)

func fieldOf(name string) (field, bool) {
	for i, n := range fieldNames {
		if n == name {
			return field(i), true
		}
	}
	return 0, false
}

// reqObject is the request handed to a script. It is a goja dynamic
// object: each property is built on first access, so a script that only
// sets a header never pays for the inbound headers, the query or the body
// being turned into JavaScript, and the body is not even read.
type reqObject struct {
	v       *vm
	r       *http.Request
	exposed []field
	virtual bool

	vals    [nFields]goja.Value // nil until built or assigned
	set     [nFields]bool       // assigned by the script
	deleted [nFields]bool

	extraKeys []string
	extra     map[string]goja.Value

	body    []byte
	read    bool
	readErr error
	closed  bool
}

func newReqObject(v *vm, r *http.Request, s shape) *reqObject {
	return &reqObject{v: v, r: r, exposed: s.fields, virtual: s.virtual}
}

func (o *reqObject) has(f field) bool {
	for _, e := range o.exposed {
		if e == f {
			return true
		}
	}
	return false
}

// readBody reads the inbound body once and puts a re-readable copy back.
func (o *reqObject) readBody() []byte {
	if o.read || o.closed {
		return o.body
	}
	o.read = true
	if o.r.Body == nil || o.r.Body == http.NoBody {
		return nil
	}
	o.body, o.readErr = io.ReadAll(o.r.Body)
	_ = o.r.Body.Close()
	o.r.Body = io.NopCloser(bytes.NewReader(o.body))
	return o.body
}

func (o *reqObject) build(f field) goja.Value {
	v, r := o.v, o.r
	if o.closed {
		return goja.Undefined()
	}
	switch f {
	case fHeaders:
		if o.virtual {
			return v.multiMap(r.Header)
		}
		return v.multiMap(r.Header, "Host", r.Host)
	case fSetHeaders, fAddParams, fExtendedParams:
		return v.rt.NewObject()
	case fDeleteHeaders, fDeleteParams:
		return v.rt.NewArray()
	case fBody:
		return bytesValue(v.rt, o.readBody())
	case fURL:
		return v.rt.ToValue(r.URL.RequestURI())
	case fParams:
		q := r.URL.Query()
		if o.virtual {
			q = o.formAndQuery(q)
		}
		return v.multiMap(q)
	case fReturnOverrides:
		ro := v.rt.NewObject()
		_ = ro.Set("ResponseCode", 0)
		_ = ro.Set("ResponseError", "")
		_ = ro.Set("ResponseBody", "")
		_ = ro.Set("ResponseHeaders", goja.Null())
		_ = ro.Set("OverrideError", false)
		return ro
	case fIgnoreBody:
		return v.rt.ToValue(false)
	case fMethod:
		return v.rt.ToValue(r.Method)
	case fRequestURI:
		return v.rt.ToValue(r.RequestURI)
	case fScheme:
		if r.TLS != nil {
			return v.rt.ToValue("https")
		}
		return v.rt.ToValue("http")
	}
	return goja.Undefined()
}

// formAndQuery merges an url-encoded form body into the query values, as
// a virtual endpoint's Params do; the body stays readable.
func (o *reqObject) formAndQuery(q url.Values) url.Values {
	if mt, _, _ := mime.ParseMediaType(o.r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return q
	}
	form, err := url.ParseQuery(string(o.readBody()))
	if err != nil {
		return q
	}
	for k, vs := range q {
		form[k] = append(form[k], vs...)
	}
	return form
}

// get returns a field's current value, building it when needed.
func (o *reqObject) get(f field) goja.Value {
	if o.vals[f] == nil {
		o.vals[f] = o.build(f)
	}
	return o.vals[f]
}

// Get implements goja.DynamicObject.
func (o *reqObject) Get(key string) goja.Value {
	if f, ok := fieldOf(key); ok && o.has(f) {
		if o.deleted[f] {
			return nil
		}
		return o.get(f)
	}
	return o.extra[key]
}

// Set implements goja.DynamicObject.
func (o *reqObject) Set(key string, val goja.Value) bool {
	if f, ok := fieldOf(key); ok && o.has(f) {
		o.vals[f], o.set[f], o.deleted[f] = val, true, false
		return true
	}
	if o.extra == nil {
		o.extra = map[string]goja.Value{}
	}
	if _, seen := o.extra[key]; !seen {
		o.extraKeys = append(o.extraKeys, key)
	}
	o.extra[key] = val
	return true
}

// Has implements goja.DynamicObject.
func (o *reqObject) Has(key string) bool {
	if f, ok := fieldOf(key); ok && o.has(f) {
		return !o.deleted[f]
	}
	_, ok := o.extra[key]
	return ok
}

// Delete implements goja.DynamicObject.
func (o *reqObject) Delete(key string) bool {
	if f, ok := fieldOf(key); ok && o.has(f) {
		o.vals[f], o.set[f], o.deleted[f] = goja.Undefined(), true, true
		return true
	}
	if _, ok := o.extra[key]; ok {
		delete(o.extra, key)
		for i, k := range o.extraKeys {
			if k == key {
				o.extraKeys = append(o.extraKeys[:i], o.extraKeys[i+1:]...)
				break
			}
		}
	}
	return true
}

// Keys implements goja.DynamicObject.
func (o *reqObject) Keys() []string {
	keys := make([]string, 0, len(o.exposed)+len(o.extraKeys))
	for _, f := range o.exposed {
		if !o.deleted[f] {
			keys = append(keys, fieldNames[f])
		}
	}
	return append(keys, o.extraKeys...)
}

// close ends the object's link to the request: a script that kept it
// somewhere cannot reach a request that has moved on.
func (o *reqObject) close() { o.closed = true }
