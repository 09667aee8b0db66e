package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	// EnvPrefix starts every environment override: EnvPrefix + "_" + the Go
	// field path in upper case joined by "_" (TYK_GW_STORAGE_HOST).
	EnvPrefix = "TYK_GW"
	// EnvOmitConfigFile, when true, makes Load ignore the file entirely
	// (defaults + environment only), as with Tyk.
	EnvOmitConfigFile = EnvPrefix + "_OMITCONFIGFILE"
	// EnvLogLevel is Tyk's logger variable; it wins over log_level.
	EnvLogLevel = "TYK_LOGLEVEL"
	// DefaultFileName is the file Find looks for in the working directory.
	DefaultFileName = "tyk.conf"
)

// Find returns the configuration file to use when none was named on the
// command line: tyk.conf in the working directory if it is a regular file,
// otherwise "" (run on defaults). Unlike Tyk it never writes a default file:
// a gateway that silently creates files where it is started is surprising,
// and the defaults need no file.
func Find() string {
	if fi, err := os.Stat(DefaultFileName); err == nil && fi.Mode().IsRegular() {
		return DefaultFileName
	}
	return ""
}

// Load builds the configuration:
//  1. the JSON file at path, if path is not "" (a missing file is an error,
//     since it was asked for) and TYK_GW_OMITCONFIGFILE is not true;
//  2. TYK_GW_* environment overrides, then TYK_LOGLEVEL;
//  3. env://NAME references in secret, node_secret and storage.password;
//  4. ApplyDefaults, so zero values mean "default" wherever they came from;
//  5. Validate.
//
// Warnings are problems that do not stop start-up (unknown fields in the
// file, unknown TYK_GW_* variables, ...); the caller should log them. They
// are returned even when err is not nil, because an unknown field is often
// the reason for a validation error (a misspelt key left a value unset).
// The secret is not generated here: see EnsureSecret.
func Load(path string) (*Config, []string, error) {
	l := &loader{}
	c := &Config{}

	omit := false
	if v, ok := os.LookupEnv(EnvOmitConfigFile); ok {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %q is not a boolean", EnvOmitConfigFile, v)
		}
		omit = b
	}

	if path != "" {
		if omit {
			l.warnf("%s is true: ignoring the config file %s", EnvOmitConfigFile, path)
		} else {
			if err := l.readFile(path, c); err != nil {
				return nil, l.warnings, err
			}
			c.OriginalPath = path
		}
	}

	if err := l.applyEnv(c); err != nil {
		return nil, l.warnings, err
	}
	if v := os.Getenv(EnvLogLevel); v != "" {
		// Checked here so the message names the variable the value came
		// from; Validate would blame log_level.
		if !isLogLevel(v) {
			return nil, l.warnings, fmt.Errorf("%s: %q is not one of %s", EnvLogLevel, v, strings.Join(logLevels, ", "))
		}
		c.LogLevel = v
	}
	if err := resolveRefs(c); err != nil {
		return nil, l.warnings, err
	}

	c.ApplyDefaults()
	if d := c.LivenessCheck.CheckDuration; d > 0 && d < time.Millisecond {
		// Tyk's JSON duration is in nanoseconds; "check_duration": 10 is
		// almost certainly meant as seconds and would probe Redis in a
		// tight loop.
		l.warnf("liveness_check.check_duration is %v: the JSON value is in nanoseconds (10s = 10000000000)", d)
	}

	if err := c.Validate(); err != nil {
		return nil, l.warnings, err
	}
	return c, l.warnings, nil
}

type loader struct {
	warnings []string
}

func (l *loader) warnf(format string, args ...any) {
	l.warnings = append(l.warnings, fmt.Sprintf(format, args...))
}

// readFile decodes the file over c and reports the keys that no field took.
func (l *loader) readFile(path string, c *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	// encoding/json drops unknown keys silently and DisallowUnknownFields
	// would make them fatal; a second, untyped pass lists them instead. It
	// runs first so the warnings also accompany a decoding error, which a
	// misspelt key often explains.
	var unknown []string
	collectUnknown(data, reflect.TypeOf(c).Elem(), "", &unknown)
	sort.Strings(unknown)
	for _, f := range unknown {
		l.warnf("%s: unknown field %q is ignored (not supported by Tollgate)", path, f)
	}
	if err := json.Unmarshal(data, c); err != nil {
		return jsonError(path, data, err)
	}
	return nil
}

// jsonError turns a decoding error into one naming the place in the file.
func jsonError(path string, data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := lineCol(data, syn.Offset)
		return fmt.Errorf("config %s: invalid JSON at line %d, column %d: %v", path, line, col, syn)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Errorf("config %s: the file must hold a JSON object, not a JSON %s", path, typ.Value)
		}
		return fmt.Errorf("config %s: %s: a JSON %s cannot be used as %s", path, typ.Field, typ.Value, typ.Type)
	default:
		return fmt.Errorf("config %s: %w", path, err)
	}
}

func lineCol(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, col
}

// collectUnknown walks raw alongside t and appends the dotted path of every
// object key that t has no field for. Values that do not have the expected
// JSON shape are skipped: json.Unmarshal has already judged them.
func collectUnknown(raw json.RawMessage, t reflect.Type, path string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		// A type that decodes itself may accept any keys.
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return
		}
		fields := jsonFields(t)
		for k, v := range obj {
			ft, ok := lookupField(fields, k)
			if !ok {
				*out = append(*out, joinPath(path, k))
				continue
			}
			collectUnknown(v, ft, joinPath(path, k), out)
		}
	case reflect.Slice, reflect.Array:
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) != nil {
			return
		}
		for i, v := range arr {
			collectUnknown(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i), out)
		}
	case reflect.Map:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return
		}
		// Map keys are data, not field names; quote them so a key holding
		// dots ("auth.key_not_found") is not mistaken for nesting.
		for k, v := range obj {
			collectUnknown(v, t.Elem(), fmt.Sprintf("%s[%q]", path, k), out)
		}
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// jsonFields maps the JSON names of t's fields to their types, following the
// encoding/json rules Tollgate's types use: the tag name (or the Go name when
// the tag has none), "-" skipped, untagged embedded structs flattened.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := sf.Type
		if sf.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for n, typ := range jsonFields(ft) {
					if _, taken := fields[n]; !taken {
						fields[n] = typ
					}
				}
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		fields[name] = ft
	}
	return fields
}

// lookupField matches a key like encoding/json does: exactly, or else
// ignoring case, so a key the decoder accepted is never reported unknown.
func lookupField(fields map[string]reflect.Type, key string) (reflect.Type, bool) {
	if t, ok := fields[key]; ok {
		return t, true
	}
	for name, t := range fields {
		if strings.EqualFold(name, key) {
			return t, true
		}
	}
	return nil, false
}

// applyEnv sets every field that has a TYK_GW_* variable. Bad values are
// errors naming the variable; all of them are reported at once.
func (l *loader) applyEnv(c *Config) error {
	known := map[string]bool{EnvOmitConfigFile: true}
	var errs []error
	l.envStruct(reflect.ValueOf(c).Elem(), EnvPrefix, known, &errs)

	// A misspelt variable would otherwise be ignored without a trace.
	var stray []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, EnvPrefix+"_") && !known[name] {
			stray = append(stray, name)
		}
	}
	sort.Strings(stray)
	for _, name := range stray {
		l.warnf("environment variable %s matches no setting Tollgate supports; ignored", name)
	}
	return errors.Join(errs...)
}

func (l *loader) envStruct(v reflect.Value, prefix string, known map[string]bool, errs *[]error) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		fv := v.Field(i)
		if sf.Tag.Get("json") == "-" {
			continue
		}
		// Embedded structs add no level to the name (Tyk's rate-limit
		// flags live in one and are TYK_GW_ENABLE...).
		if sf.Anonymous && fv.Kind() == reflect.Struct {
			l.envStruct(fv, prefix, known, errs)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		name := prefix + "_" + strings.ToUpper(sf.Name)
		if fv.Kind() == reflect.Struct {
			l.envStruct(fv, name, known, errs)
			continue
		}
		known[name] = true
		raw, ok := os.LookupEnv(name)
		if !ok {
			continue
		}
		if fv.Kind() == reflect.Map {
			l.warnf("environment variable %s: maps cannot be set from the environment; ignored", name)
			continue
		}
		if err := setFromString(fv, raw); err != nil {
			*errs = append(*errs, fmt.Errorf("%s: %w", name, err))
		}
	}
}

var durationType = reflect.TypeFor[time.Duration]()

// setFromString parses an environment value into v according to its kind.
// The messages quote the value: only non-string settings can fail, so no
// secret is ever echoed.
func setFromString(v reflect.Value, raw string) error {
	s := strings.TrimSpace(raw)
	if v.Type() == durationType {
		// Tyk (envconfig) accepts Go durations here; a bare integer is
		// taken as nanoseconds, like the JSON value.
		if d, err := time.ParseDuration(s); err == nil {
			v.SetInt(int64(d))
			return nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a duration (e.g. 10s)", raw)
		}
		v.SetInt(n)
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw) // untrimmed: spaces may be part of a secret
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not a boolean (true or false)", raw)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a valid %s", raw, v.Type())
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a valid %s", raw, v.Type())
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a number", raw)
		}
		v.SetFloat(f)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.String {
			// Comma-separated, as envconfig does for Tyk. Blank items are
			// dropped so "a, b," and "" behave as expected.
			var items []string
			for _, it := range strings.Split(raw, ",") {
				if it = strings.TrimSpace(it); it != "" {
					items = append(items, it)
				}
			}
			v.Set(reflect.ValueOf(items).Convert(v.Type()))
			return nil
		}
		// Lists of objects (http_server_options.certificates) are JSON,
		// which is what Tyk accepts for them.
		p := reflect.New(v.Type())
		if err := json.Unmarshal([]byte(raw), p.Interface()); err != nil {
			return fmt.Errorf("not a JSON array of %s: %v", v.Type().Elem(), err)
		}
		v.Set(p.Elem())
	default:
		return fmt.Errorf("settings of type %s cannot be set from the environment", v.Type())
	}
	return nil
}

// resolveRefs replaces env://NAME in the settings Tyk resolves that way. An
// unset variable is an error, as in Tyk (a gateway must not come up with
// "env://ADMIN_SECRET" as its literal admin secret). Tyk's other schemes
// need a Dashboard, Consul or Vault that Tollgate does not talk to; they are
// refused for the same reason.
func resolveRefs(c *Config) error {
	targets := []struct {
		field string
		value *string
	}{
		{"secret", &c.Secret},
		{"node_secret", &c.NodeSecret},
		{"storage.password", &c.Storage.Password},
	}
	for _, t := range targets {
		v := *t.value
		if name, ok := strings.CutPrefix(v, "env://"); ok {
			if name == "" {
				return fmt.Errorf("%s: env:// needs a variable name (env://NAME)", t.field)
			}
			val, set := os.LookupEnv(name)
			if !set {
				return fmt.Errorf("%s: environment variable %s (from env://%s) is not set", t.field, name, name)
			}
			*t.value = val
			continue
		}
		for _, scheme := range []string{"secrets://", "consul://", "vault://"} {
			if strings.HasPrefix(v, scheme) {
				return fmt.Errorf("%s: %s references are not supported by Tollgate; use env://NAME or the value itself", t.field, scheme)
			}
		}
	}
	return nil
}
