package chain

import (
	"bytes"
	"errors"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
)

// ErrorWriter renders refusals the way Tyk does: the request's
// Content-Type (not Accept) picks JSON or XML, a template
// error_<status>.<ext> in template_path wins over error.<ext>, and the
// built-in templates give Tyk's exact default bodies.
type ErrorWriter struct {
	// HideGenerator drops the X-Generator header.
	HideGenerator bool
	// CloseConnections adds Connection: close.
	CloseConnections bool
	templates        map[string]*template.Template
}

// Default templates: Tyk's bodies, byte for byte (no trailing newline).
const (
	defaultJSON = "{\n    \"error\": \"{{.Message}}\"\n}"
	defaultXML  = "<?xml version = \"1.0\" encoding = \"UTF-8\"?>\n<error>{{.Message}}</error>"
)

// NewErrorWriter loads error*.json and error*.xml from dir (which may be
// empty or missing: the built-in templates are used).
func NewErrorWriter(dir string) (*ErrorWriter, error) {
	ew := &ErrorWriter{templates: map[string]*template.Template{
		"error.json": template.Must(template.New("error.json").Parse(defaultJSON)),
		"error.xml":  template.Must(template.New("error.xml").Parse(defaultXML)),
	}}
	if dir == "" {
		return ew, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "error*"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		name := filepath.Base(f)
		t, err := template.New(name).Parse(string(b))
		if err != nil {
			return nil, errors.New("error template " + f + ": " + err.Error())
		}
		ew.templates[name] = t
	}
	return ew, nil
}

// Write sends the error body for err (an *Error; anything else is a 500).
func (ew *ErrorWriter) Write(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Status: http.StatusInternalServerError, Message: "There was a problem proxying the request"}
	}
	ew.write(w, r, e.Status, e.Message, e.Header)
}

func (ew *ErrorWriter) write(w http.ResponseWriter, r *http.Request, status int, msg string, extra http.Header) {
	h := w.Header()
	for k, v := range extra {
		h[k] = v
	}
	ext, ctype := "json", "application/json"
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/xml" || mt == "text/xml" {
		ext, ctype = "xml", mt
	}
	t := ew.templates["error_"+strconv.Itoa(status)+"."+ext]
	if t == nil {
		t = ew.templates["error."+ext]
	}
	if t == nil {
		t, ext = ew.templates["error.json"], "json"
	}
	if ext == "json" {
		msg = jsonEscape(msg)
	}
	var buf bytes.Buffer
	_ = t.Execute(&buf, struct{ Message string }{msg})
	h.Set("Content-Type", ctype)
	if !ew.HideGenerator {
		h.Set("X-Generator", "tyk.io")
	}
	if ew.CloseConnections {
		h.Set("Connection", "close")
	}
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// jsonEscape escapes a message for a JSON string the way Tyk's template
// does (<, >, &, = as \u escapes), except that an apostrophe is left alone:
// Tyk writes \' there, which is not valid JSON.
func jsonEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '<':
			b.WriteString(`\u003C`)
		case '>':
			b.WriteString(`\u003E`)
		case '&':
			b.WriteString(`\u0026`)
		case '=':
			b.WriteString(`\u003D`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte("0123456789ABCDEF"[r>>4])
				b.WriteByte("0123456789ABCDEF"[r&0xF])
				continue
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}
