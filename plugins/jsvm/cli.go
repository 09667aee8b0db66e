package jsvm

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/tollgate/tollgate/gateway/apidef"
	"github.com/tollgate/tollgate/gateway/config"
	"github.com/tollgate/tollgate/gateway/session"
	"github.com/tollgate/tollgate/middleware/chain"
)

const pluginUsage = `usage: tollgate plugin test SCRIPT.js --request REQ.json [--session SESSION.json]
                          [--name NAME] [--hook pre|auth_check|post_key_auth|post] [--config CONFIG.json]

Runs one JavaScript middleware on a request, the way the gateway would,
and prints what it did as JSON.

  REQ.json      {"Method": "POST", "URL": "/listen/path?x=1",
                 "Headers": {"Content-Type": "application/json"}, "Body": "..."}
                (header values may be a string or a list of strings)
  SESSION.json  a key's session, as the key API shows it; post and
                post_key_auth hooks then run as with require_session
  NAME          the middleware's global variable (default: the file name
                up to its first dot)
  CONFIG.json   the API's config_data
`

// Command runs "tollgate plugin ...": today "plugin test".
func Command(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "test" {
		fmt.Fprint(stderr, pluginUsage)
		return 2
	}
	fs := flag.NewFlagSet("tollgate plugin test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, pluginUsage) }
	reqFile := fs.String("request", "", "request JSON file")
	sessFile := fs.String("session", "", "session JSON file")
	name := fs.String("name", "", "middleware global variable")
	hook := fs.String("hook", "pre", "pre, auth_check, post_key_auth or post")
	cfgFile := fs.String("config", "", "config_data JSON file")
	var positional []string
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(positional) != 1 || *reqFile == "" {
		fmt.Fprint(stderr, pluginUsage)
		return 2
	}
	kinds := map[string]hookKind{"pre": kindPre, "auth_check": kindAuth, "auth": kindAuth, "post_key_auth": kindPostKeyAuth, "post": kindPost}
	kind, ok := kinds[*hook]
	if !ok {
		fmt.Fprintf(stderr, "unknown hook %q\n", *hook)
		return 2
	}
	t := pluginTest{script: positional[0], kind: kind, name: *name}
	report, err := t.run(*reqFile, *sessFile, *cfgFile, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(report)
	if report.Error != "" {
		return 1
	}
	return 0
}

type pluginTest struct {
	script string
	kind   hookKind
	name   string
}

// testRequest is the --request file.
type testRequest struct {
	Method  string
	URL     string
	Headers map[string]headerValues
	Body    string
	Scheme  string
}

// headerValues reads a header given as a string or a list of strings.
type headerValues []string

func (h *headerValues) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*h = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("a header value must be a string or a list of strings")
	}
	*h = many
	return nil
}

// testReport is what plugin test prints.
type testReport struct {
	Hook            string              `json:"hook"`
	Name            string              `json:"name"`
	Error           string              `json:"error,omitempty"`
	HeadersSet      map[string]string   `json:"headers_set,omitempty"`
	HeadersDeleted  []string            `json:"headers_deleted,omitempty"`
	ParamsAdded     map[string]string   `json:"params_added,omitempty"`
	ParamsExtended  map[string][]string `json:"params_extended,omitempty"`
	ParamsDeleted   []string            `json:"params_deleted,omitempty"`
	URLChanged      bool                `json:"url_changed"`
	BodyChanged     bool                `json:"body_changed"`
	ReturnOverrides *overrides          `json:"return_overrides,omitempty"`
	SessionMeta     map[string]string   `json:"session_meta,omitempty"`
	SessionChanged  bool                `json:"session_changed"`
	Session         *session.State      `json:"session,omitempty"`
	AuthValue       string              `json:"auth_value,omitempty"`
	Request         *testOutRequest     `json:"request,omitempty"`
	Response        *testOutResponse    `json:"response,omitempty"`
}

type testOutRequest struct {
	Method  string      `json:"method"`
	URL     string      `json:"url"`
	Headers http.Header `json:"headers"`
	Body    string      `json:"body"`
}

type testOutResponse struct {
	Status  int         `json:"status"`
	Headers http.Header `json:"headers"`
	Body    string      `json:"body"`
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func (t pluginTest) run(reqFile, sessFile, cfgFile string, stderr io.Writer) (*testReport, error) {
	var in testRequest
	if err := readJSON(reqFile, &in); err != nil {
		return nil, err
	}
	var sess *session.State
	if sessFile != "" {
		sess = &session.State{}
		if err := readJSON(sessFile, sess); err != nil {
			return nil, err
		}
	}
	def := apidef.Definition{APIID: "plugin-test", OrgID: "plugin-test"}
	if sess != nil && sess.OrgID != "" {
		def.OrgID = sess.OrgID
	}
	if cfgFile != "" {
		if err := readJSON(cfgFile, &def.ConfigData); err != nil {
			return nil, err
		}
	}
	if t.name == "" {
		t.name, _, _ = strings.Cut(filepath.Base(t.script), ".")
	}
	code, err := os.ReadFile(t.script)
	if err != nil {
		return nil, err
	}
	prog, err := compileScript(t.script, string(code))
	if err != nil {
		return nil, err
	}

	cfg := config.Default()
	cfg.EnableJSVM = true
	log := slog.New(slog.NewTextHandler(stderr, nil))
	a := &apiJS{apiID: def.APIID, orgID: def.OrgID, env: &chain.Env{Config: cfg, Log: log}, log: log.With("prefix", "jsvm"),
		enabled: true, timeout: Timeout(cfg), canonical: true, identity: true,
		scripts: []script{*prog}, configJSON: configJSON(&def), ready: make(chan *vm, 1)}
	v, problems := newVM(a)
	if len(problems) > 0 {
		return nil, problems[0].err
	}
	a.ready <- v

	if in.Method == "" {
		in.Method = http.MethodGet
	}
	if in.URL == "" {
		in.URL = "/"
	}
	r := httptest.NewRequest(in.Method, in.URL, strings.NewReader(in.Body))
	if in.Body == "" {
		r.Body, r.ContentLength = http.NoBody, 0
	}
	for k, vs := range in.Headers {
		if http.CanonicalHeaderKey(k) == "Host" && len(vs) > 0 {
			r.Host = vs[0]
			continue
		}
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	if in.Scheme == "https" {
		r.TLS = &tls.ConnectionState{}
	}
	errs, _ := chain.NewErrorWriter("")
	req := &chain.Request{API: &chain.API{Def: def, Errors: errs}, Session: sess}
	beforeURL := r.URL.RequestURI()

	report := &testReport{Hook: t.kind.String(), Name: t.name}
	requireSession := sess != nil
	out, err := a.call(r, req, t.kind, t.name, requireSession)
	if err != nil {
		report.Error = err.Error()
		return report, nil
	}
	res := out.Request
	report.HeadersSet, report.HeadersDeleted = res.SetHeaders, res.DeleteHeaders
	report.ParamsAdded, report.ParamsExtended, report.ParamsDeleted = res.AddParams, res.ExtendedParams, res.DeleteParams
	if ro := res.ReturnOverrides; ro.ResponseCode != 0 || ro.ResponseError != "" || ro.ResponseBody != "" || ro.ResponseHeaders != nil {
		report.ReturnOverrides = &ro
	}
	report.SessionMeta, report.AuthValue = out.SessionMeta, out.AuthValue
	if t.kind == kindAuth {
		report.Session = out.Session
	}

	w := httptest.NewRecorder()
	switch err := a.applyRequest(w, r, req, t.kind, requireSession, out); {
	case err == nil:
		body, _ := io.ReadAll(r.Body)
		report.Request = &testOutRequest{Method: r.Method, URL: r.URL.RequestURI(), Headers: r.Header.Clone(), Body: string(body)}
	case errors.Is(err, chain.ErrHandled):
	default:
		errs.Write(w, r, err)
	}
	if w.Code != http.StatusOK || w.Body.Len() > 0 || len(w.Header()) > 0 {
		report.Response = &testOutResponse{Status: w.Code, Headers: w.Header().Clone(), Body: w.Body.String()}
	}
	report.URLChanged = r.URL.RequestURI() != beforeURL
	report.BodyChanged = out.bodySet && !res.IgnoreBody && string(out.body) != in.Body
	report.SessionChanged = req.SessionChanged
	if req.SessionChanged && t.kind != kindAuth {
		report.Session = req.Session
	}
	return report, nil
}
