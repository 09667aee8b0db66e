package jsvm

import (
	"encoding/base64"
	"os"

	"github.com/dop251/goja"
)

// installGlobals defines the Go-backed globals of Tyk's JSVM. The
// JavaScript ones (TykJS, TykJsResponse, _) come from the prelude and
// Underscore.
func (v *vm) installGlobals(a *apiJS) {
	rt := v.rt
	set := func(name string, fn func(goja.FunctionCall) goja.Value) {
		if err := rt.Set(name, fn); err != nil {
			panic(err)
		}
	}
	set("log", func(c goja.FunctionCall) goja.Value {
		a.log.Info(c.Argument(0).String(), "type", "log-msg")
		return goja.Undefined()
	})
	set("rawlog", func(c goja.FunctionCall) goja.Value {
		_, _ = os.Stderr.WriteString(c.Argument(0).String() + "\n")
		return goja.Undefined()
	})
	set("b64enc", func(c goja.FunctionCall) goja.Value {
		return rt.ToValue(base64.StdEncoding.EncodeToString(valueBytes(c.Argument(0))))
	})
	set("rawb64enc", func(c goja.FunctionCall) goja.Value {
		return rt.ToValue(base64.RawStdEncoding.EncodeToString(valueBytes(c.Argument(0))))
	})
	set("b64dec", func(c goja.FunctionCall) goja.Value {
		s := c.Argument(0).String()
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(s)
		}
		if err != nil {
			a.log.Error("b64dec: not base64", "error", err)
			return goja.Undefined()
		}
		return bytesValue(rt, b)
	})
	set("rawb64dec", func(c goja.FunctionCall) goja.Value {
		b, err := base64.RawStdEncoding.DecodeString(c.Argument(0).String())
		if err != nil {
			a.log.Error("rawb64dec: not unpadded base64", "error", err)
			return goja.Undefined()
		}
		return bytesValue(rt, b)
	})
	set("TykMakeHttpRequest", func(c goja.FunctionCall) goja.Value {
		return v.jsonReply(a.makeHTTPRequest(v.context(), c.Argument(0)))
	})
	set("TykBatchRequest", func(c goja.FunctionCall) goja.Value {
		return v.jsonReply(a.batchRequest(v.context(), c.Argument(0)))
	})
	set("TykGetKeyData", func(c goja.FunctionCall) goja.Value {
		return v.jsonReply(a.getKeyData(v.context(), c.Argument(0).String(), c.Argument(1).String()))
	})
	set("TykSetKeyData", func(c goja.FunctionCall) goja.Value {
		a.setKeyData(v.context(), c.Argument(0).String(), c.Argument(1).String(), c.Argument(2).String())
		return goja.Undefined()
	})
}

// jsonReply hands a Go-built JSON reply to the script as a string; no
// reply is undefined.
func (v *vm) jsonReply(b []byte) goja.Value {
	if b == nil {
		return goja.Undefined()
	}
	return v.rt.ToValue(string(b))
}
