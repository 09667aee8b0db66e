package jsvm

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"

	"github.com/tollgate/tollgate/scripts"
)

// base holds the programs every runtime starts with, compiled once per
// process: Underscore.js, then the prelude.
var base = sync.OnceValue(func() []*goja.Program {
	return []*goja.Program{
		mustCompile("underscore.js", scripts.Underscore),
		mustCompile("prelude.js", scripts.Prelude),
	}
})

// guard puts a proxy between the global object and its prototype. A
// script that assigns an undeclared global (x = 1 in sloppy mode,
// this.x = 1, globalThis.x = 1) creates a new property on the global
// object, and creating one goes through the prototype chain's [[Set]],
// so the proxy sees it and calls mark. Reads are passed straight on.
var guard = sync.OnceValue(func() *goja.Program {
	return mustCompile("guard.js", `(function (mark) {
	var proto = Object.getPrototypeOf(globalThis);
	Object.setPrototypeOf(globalThis, new Proxy(proto, {
		set: function (target, key, value, receiver) {
			mark();
			return Reflect.set(target, key, value, receiver);
		}
	}));
})`)
})

func mustCompile(name, src string) *goja.Program {
	p, err := compile(name, src)
	if err != nil {
		panic(err)
	}
	return p
}

// compile parses a script as a non-strict ES5+ program (Tyk's scripts are
// sloppy-mode ES5) without reading source maps from disk.
func compile(name, src string) (*goja.Program, error) {
	ast, err := goja.Parse(name, src, parser.WithDisableSourceMaps)
	if err != nil {
		return nil, err
	}
	return goja.CompileAST(ast, false)
}

// script is one user program of an API, with the name logs use.
type script struct {
	name string
	prog *goja.Program
}

// vm is one ready runtime: the prelude and the API's scripts have run. A
// vm serves one call at a time; the pool hands vms out.
type vm struct {
	rt        *goja.Runtime
	jsonParse goja.Callable
	// globals is the snapshot of the top-level bindings after loading; a
	// call that rebinds one, or adds a global (dirty), makes the vm unfit
	// for reuse.
	globals []global
	dirty   bool
	// ctx bounds the call under way; Go-backed globals that do I/O use it.
	ctx context.Context
}

type global struct {
	name string
	val  goja.Value
}

// errTimeout is the interrupt value of a run that hit jsvm_timeout.
var errTimeout = errors.New("JS execution timed out")

// loadProblem is a script that failed while a runtime was being built.
type loadProblem struct {
	script  int // index in apiJS.scripts
	err     error
	timeout bool
}

func (p loadProblem) Error() string { return p.err.Error() }

// newVM builds a runtime: globals, Underscore, the prelude, then the
// API's scripts. Script errors are returned for logging; the runtime is
// usable whatever they are, as in Tyk (a failed file is skipped).
func newVM(api *apiJS) (*vm, []loadProblem) {
	v := &vm{rt: goja.New()}
	v.installGlobals(api)
	parse, _ := goja.AssertFunction(v.rt.Get("JSON").ToObject(v.rt).Get("parse"))
	v.jsonParse = parse
	for _, p := range base() {
		if _, err := v.rt.RunProgram(p); err != nil {
			panic(fmt.Sprintf("jsvm: built-in script failed: %v", err))
		}
	}
	var problems []loadProblem
	for i, s := range api.scripts {
		ctx, cancel := context.WithTimeout(context.Background(), api.timeout)
		err := v.run(ctx, func() error {
			_, err := v.rt.RunProgram(s.prog)
			return err
		})
		cancel()
		if err != nil {
			problems = append(problems, loadProblem{script: i, err: fmt.Errorf("%s: %w", s.name, err), timeout: ctx.Err() != nil})
		}
		v.rt.ClearInterrupt()
	}
	v.seal()
	return v, problems
}

// seal records the top-level bindings as loading left them and installs
// the guard that notices new ones.
func (v *vm) seal() {
	g := v.rt.GlobalObject()
	keys := g.Keys()
	v.globals = make([]global, len(keys))
	for i, k := range keys {
		v.globals[i] = global{k, g.Get(k)}
	}
	install, err := v.rt.RunProgram(guard())
	if err == nil {
		fn, _ := goja.AssertFunction(install)
		_, err = fn(goja.Undefined(), v.rt.ToValue(func() { v.dirty = true }))
	}
	if err != nil {
		panic(fmt.Sprintf("jsvm: installing the globals guard failed: %v", err))
	}
}

// clean reports whether the top-level bindings are as they were after
// loading. Tyk runs every call on a copy of the API's runtime, so nothing
// a call assigns at the top level is seen by the next one; a runtime whose
// globals changed is dropped rather than reused.
func (v *vm) clean() bool {
	if v.dirty {
		return false
	}
	g := v.rt.GlobalObject()
	for _, e := range v.globals {
		if !g.Get(e.name).SameAs(e.val) {
			return false
		}
	}
	return true
}

// run calls fn with the runtime bound to ctx: when ctx ends (jsvm_timeout,
// or the client went away) the script is interrupted, and Go-backed
// globals that wait on the network give up with it. A JavaScript
// exception, an interrupt or a panic comes back as an error.
func (v *vm) run(ctx context.Context, fn func() error) (err error) {
	v.ctx = ctx
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		v.rt.Interrupt(errTimeout)
		close(fired)
	})
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in JavaScript call: %v", r)
		}
		if !stop() {
			// The interrupt fired: the run failed, whatever fn returned.
			// Waiting for it lets the caller clear it safely.
			<-fired
			if err == nil {
				err = errTimeout
			}
		}
		v.ctx = nil
	}()
	return fn()
}

// context is the context of the call under way.
func (v *vm) context() context.Context {
	if v.ctx != nil {
		return v.ctx
	}
	return context.Background()
}
