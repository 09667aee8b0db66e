package jsvm

import (
	"encoding/json"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// Bodies are bytes, JavaScript strings are UTF-16. Valid UTF-8 maps to the
// same text; each byte that is not part of valid UTF-8 (always >= 0x80)
// becomes the lone surrogate U+DC00+byte, and maps back to that byte. So a
// body with stray bytes survives a script that reads it, appends to it and
// returns it, byte for byte.

const escapeBase = 0xDC00

// bytesValue turns body bytes into a JavaScript string without loss.
func bytesValue(rt *goja.Runtime, b []byte) goja.Value {
	if utf8.Valid(b) {
		return rt.ToValue(string(b))
	}
	units := make([]uint16, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			units = append(units, escapeBase|uint16(b[0]))
			b = b[1:]
			continue
		}
		if r >= 0x10000 {
			hi, lo := utf16.EncodeRune(r)
			units = append(units, uint16(hi), uint16(lo))
		} else {
			units = append(units, uint16(r))
		}
		b = b[n:]
	}
	return goja.StringFromUTF16(units)
}

// valueBytes turns a JavaScript value into body bytes: strings as UTF-8
// with escaped bytes restored, other values through ToString. undefined
// and null are no body.
func valueBytes(v goja.Value) []byte {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	s := v.String()
	js, ok := v.(goja.String)
	if !ok || !strings.ContainsRune(s, utf8.RuneError) {
		return []byte(s) // no surrogates: the conversion was exact
	}
	n := js.Length()
	out := make([]byte, 0, len(s))
	for i := 0; i < n; i++ {
		c := js.CharAt(i)
		switch {
		case utf16.IsSurrogate(rune(c)) && c < 0xDC00 && i+1 < n && js.CharAt(i+1) >= 0xDC00 && js.CharAt(i+1) <= 0xDFFF:
			out = utf8.AppendRune(out, utf16.DecodeRune(rune(c), rune(js.CharAt(i+1))))
			i++
		case c >= escapeBase|0x80 && c <= escapeBase|0xFF:
			out = append(out, byte(c))
		default:
			out = utf8.AppendRune(out, rune(c)) // a lone surrogate becomes U+FFFD
		}
	}
	return out
}

// lazyObject is a JavaScript object built on first use: handing a session
// or config to a script that never reads it costs one small allocation.
// The real object is made by build; every access is forwarded to it.
type lazyObject struct {
	build func() *goja.Object
	obj   *goja.Object
}

func (l *lazyObject) target() *goja.Object {
	if l.obj == nil {
		l.obj = l.build()
		// Without a prototype, Get sees own properties only, as a dynamic
		// object's handler must; the wrapper itself keeps Object.prototype.
		_ = l.obj.SetPrototype(nil)
	}
	return l.obj
}

func (l *lazyObject) Get(key string) goja.Value { return l.target().Get(key) }
func (l *lazyObject) Set(key string, v goja.Value) bool {
	return l.target().Set(key, v) == nil
}
func (l *lazyObject) Has(key string) bool    { return l.target().Get(key) != nil }
func (l *lazyObject) Delete(key string) bool { return l.target().Delete(key) == nil }
func (l *lazyObject) Keys() []string         { return l.target().Keys() }

// lazyJSON is an object parsed from doc when a script first touches it.
func (v *vm) lazyJSON(doc []byte) goja.Value {
	return v.lazy(func() ([]byte, error) { return doc, nil })
}

// lazyMarshal is x as a JavaScript object, marshalled only when a script
// first touches it.
func (v *vm) lazyMarshal(x any) goja.Value {
	return v.lazy(func() ([]byte, error) { return json.Marshal(x) })
}

func (v *vm) lazy(doc func() ([]byte, error)) goja.Value {
	return v.rt.NewDynamicObject(&lazyObject{build: func() *goja.Object {
		b, err := doc()
		if err != nil {
			panic(v.rt.NewGoError(err))
		}
		o, err := v.parseJSON(b)
		if err != nil {
			panic(err)
		}
		if o == nil {
			return v.rt.NewObject()
		}
		return o
	}})
}

// parseJSON runs JSON.parse on doc; a non-object result is nil.
func (v *vm) parseJSON(doc []byte) (*goja.Object, error) {
	res, err := v.jsonParse(goja.Undefined(), v.rt.ToValue(string(doc)))
	if err != nil {
		return nil, err
	}
	o, _ := res.(*goja.Object)
	return o, nil
}

// stringArray makes a JavaScript array of strings.
func (v *vm) stringArray(items []string) *goja.Object {
	vals := make([]any, len(items))
	for i, s := range items {
		vals[i] = s
	}
	return v.rt.NewArray(vals...)
}

// multiMap makes {name: [values]} with names in sorted order, so scripts
// and the CLI see a stable order.
func (v *vm) multiMap(m map[string][]string, extra ...string) *goja.Object {
	o := v.rt.NewObject()
	for _, k := range sortedKeys(m) {
		_ = o.Set(k, v.stringArray(m[k]))
	}
	for i := 0; i+1 < len(extra); i += 2 {
		_ = o.Set(extra[i], v.stringArray([]string{extra[i+1]}))
	}
	return o
}
