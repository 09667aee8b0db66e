package jsvm

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"

	"github.com/dop251/goja"

	"github.com/tollgate/tollgate/gateway/session"
)

// A middleware's result is read the way Tyk reads it: as JSON decoded by
// encoding/json, so keys match case-insensitively, unknown keys are
// ignored and a value of the wrong type fails the whole call. Only the
// parts a script touched are turned into JSON; the body never is (it is
// carried as bytes, see convert.go).

// mwResult is what a request hook returns.
type mwResult struct {
	Request     wireRequest
	SessionMeta map[string]string
	Session     *session.State
	AuthValue   string
}

// wireRequest is the request part of a result. Headers and Body are not
// decoded: the prelude of Tyk resets the first, and the body travels
// separately.
type wireRequest struct {
	Headers         json.RawMessage
	SetHeaders      map[string]string
	DeleteHeaders   []string
	Body            json.RawMessage
	URL             string
	Params          map[string][]string
	AddParams       map[string]string
	ExtendedParams  map[string][]string
	DeleteParams    []string
	ReturnOverrides overrides
	IgnoreBody      bool
	Method          string
	RequestURI      string
	Scheme          string
}

// overrides is ReturnOverrides: answer the client instead of going on.
type overrides struct {
	ResponseCode    int
	ResponseError   string
	ResponseBody    string
	ResponseHeaders map[string]string
	OverrideError   bool
}

// outcome is a decoded result plus the body the script left.
type outcome struct {
	mwResult
	body    []byte
	bodySet bool
}

// readResult decodes what DoProcessRequest returned. rq is the request
// object the script was given.
func (v *vm) readResult(res goja.Value, rq *reqObject) (*outcome, error) {
	if s, ok := res.(goja.String); ok {
		return decodeWire(s.String())
	}
	obj, ok := res.(*goja.Object)
	if !ok {
		return nil, errNoResult
	}
	reqVal, ok := obj.Get("Request").(*goja.Object)
	if !ok {
		return nil, fmt.Errorf("%w: the result has no Request object", errNoResult)
	}
	if own, ok := reqVal.Export().(*reqObject); ok && own == rq {
		out := &outcome{}
		if fastResult(obj, rq, out) {
			out.body, out.bodySet = rq.bodyResult()
			return out, nil
		}
	}
	return v.decodeResult(obj, reqVal, rq)
}

// decodeResult is readResult through JSON, for any result shape.
func (v *vm) decodeResult(obj, reqVal *goja.Object, rq *reqObject) (*outcome, error) {
	out := &outcome{}
	var reqJSON []byte
	var err error
	if own, ok := reqVal.Export().(*reqObject); ok && own == rq {
		out.body, out.bodySet = rq.bodyResult()
		reqJSON, err = v.touchedJSON(rq)
	} else {
		if b := reqVal.Get("Body"); b != nil && !goja.IsUndefined(b) {
			out.body, out.bodySet = valueBytes(b), true
		}
		reqJSON, err = reqVal.MarshalJSON()
	}
	if err != nil {
		return nil, err
	}
	doc, err := v.objectJSON(obj, "Request", reqJSON)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(doc, &out.mwResult); err != nil {
		return nil, fmt.Errorf("result does not decode: %w", err)
	}
	return out, nil
}

// bodyResult is the body a script assigned, if it assigned one.
func (rq *reqObject) bodyResult() ([]byte, bool) {
	if !rq.set[fBody] {
		return nil, false
	}
	return valueBytes(rq.vals[fBody]), true
}

// decodeWire reads Tyk's own wire form: the JSON string its prelude
// returns, with a base64 body. It lets a script that brings its own
// DoProcessRequest keep working.
func decodeWire(s string) (*outcome, error) {
	out := &outcome{}
	if err := json.Unmarshal([]byte(s), &out.mwResult); err != nil {
		return nil, fmt.Errorf("result does not decode: %w", err)
	}
	if len(out.Request.Body) > 0 {
		var b64 string
		if err := json.Unmarshal(out.Request.Body, &b64); err != nil {
			return nil, fmt.Errorf("result body: %w", err)
		}
		body, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("result body: %w", err)
		}
		out.body, out.bodySet = body, true
	}
	return out, nil
}

// touchedJSON is the JSON of the request fields a script built or set,
// without Headers and Body. Fields it never touched keep their initial
// (no-op) values, so they need no decoding.
func (v *vm) touchedJSON(rq *reqObject) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	add := func(name string, val goja.Value) error {
		j, ok, err := v.toJSON(val)
		if err != nil || !ok {
			return err
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(name)
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(j)
		return nil
	}
	for _, f := range rq.exposed {
		switch {
		case f == fHeaders || f == fBody || rq.vals[f] == nil:
			continue
		case !rq.set[f] && f != fSetHeaders && f != fDeleteHeaders && f != fAddParams &&
			f != fExtendedParams && f != fDeleteParams && f != fReturnOverrides:
			continue // a value of ours the script only read
		}
		if err := add(fieldNames[f], rq.vals[f]); err != nil {
			return nil, err
		}
	}
	for _, k := range rq.extraKeys {
		if err := add(k, rq.extra[k]); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// objectJSON is JSON.stringify(obj), with the value of key replaced by
// the given JSON.
func (v *vm) objectJSON(obj *goja.Object, key string, keyJSON []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	for _, k := range obj.Keys() {
		var j []byte
		if k == key {
			j = keyJSON
		} else {
			var ok bool
			var err error
			if j, ok, err = v.toJSON(obj.Get(k)); err != nil {
				return nil, err
			} else if !ok {
				continue
			}
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		kj, _ := json.Marshal(k)
		buf.Write(kj)
		buf.WriteByte(':')
		buf.Write(j)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// toJSON is JSON.stringify of one value; ok is false when stringify would
// leave the value out (undefined, a function).
func (v *vm) toJSON(val goja.Value) (j []byte, ok bool, err error) {
	if val == nil || goja.IsUndefined(val) {
		return nil, false, nil
	}
	if goja.IsNull(val) {
		return []byte("null"), true, nil
	}
	if o, isObj := val.(*goja.Object); isObj {
		if _, isFn := goja.AssertFunction(o); isFn {
			return nil, false, nil
		}
		j, err := o.MarshalJSON()
		return j, err == nil, err
	}
	x := val.Export()
	if f, isFloat := x.(float64); isFloat && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return []byte("null"), true, nil
	}
	j, err = json.Marshal(x)
	if err != nil {
		return nil, false, nil // symbols and the like: left out, as by stringify
	}
	return j, true, nil
}
