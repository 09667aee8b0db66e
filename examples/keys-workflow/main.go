// Command keys-workflow walks through the life of an API key on a Tollgate
// (or Tyk 5.4) gateway using only the generated Gateway API client: define an
// API, put it behind a policy, issue a key under that policy, read it back
// and rotate it. Each step prints one line; the first unexpected answer
// stops the run with a non-zero exit.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/tollgate/tollgate/gen"
)

const (
	apiID  = "httpbin"
	policy = "gold"
	org    = "acme"
)

func main() {
	url := flag.String("url", envOr("TOLLGATE_URL", "http://localhost:8080"), "gateway base URL (env TOLLGATE_URL)")
	secret := flag.String("secret", os.Getenv("TOLLGATE_SECRET"), "control API secret (env TOLLGATE_SECRET)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx, *url, *secret, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "keys-workflow: FAILED:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, url, secret string, out io.Writer) error {
	if secret == "" {
		return errors.New("no control API secret: pass -secret or set TOLLGATE_SECRET")
	}
	// Every control API call must carry the gateway secret.
	c, err := gen.NewClientWithResponses(url, gen.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("X-Tyk-Authorization", secret)
		return nil
	}))
	if err != nil {
		return err
	}

	// A classic API; use_keyless is false, so it takes keys.
	// proxy and version_data are inline structs in the generated type, so
	// alloc fills them in place rather than spelling out their types.
	def := gen.APIDefinition{APIID: ptr(apiID), Name: ptr("httpbin"), OrgID: ptr(org), UseKeylessAccess: ptr(false)}
	proxy := alloc(&def.Proxy)
	proxy.ListenPath, proxy.TargetURL, proxy.StripListenPath = ptr("/httpbin/"), ptr("http://127.0.0.1:9/"), ptr(true)
	vd := alloc(&def.VersionData)
	vd.NotVersioned, vd.Versions = ptr(true), &map[string]*gen.VersionInfo{"Default": {Name: ptr("Default")}}
	api, err := c.CreateApiWithResponse(ctx, nil, def)
	if err := expect("create API", api, err, 200, out, "created API httpbin on /httpbin/"); err != nil {
		return err
	}
	// Definitions and policies are only served after a reload; block=true
	// waits for it, so the next call already sees them.
	if err := reload(ctx, c, out); err != nil {
		return err
	}
	// The limits live in the policy, so keys only need to name it.
	pol, err := c.AddPolicyWithResponse(ctx, gen.Policy{
		ID: ptr(policy), OrgID: ptr(org),
		Rate: ptr(100.0), Per: ptr(60.0), QuotaMax: ptr[int64](1000), QuotaRenewalRate: ptr[int64](3600),
		AccessRights: &map[string]*gen.AccessDefinition{apiID: {APIID: ptr(apiID), Versions: &[]string{"Default"}}},
	})
	if err := expect("create policy", pol, err, 200, out, "created policy gold: rate 100 per 60s, quota 1000 per 3600s"); err != nil {
		return err
	}
	if err := reload(ctx, c, out); err != nil {
		return err
	}

	oldKey, err := issueKey(ctx, c, out)
	if err != nil {
		return err
	}
	// Read the key back: the gateway reports the policy's limits on it.
	got, err := c.GetKeyWithResponse(ctx, oldKey, nil)
	if err := expect("read key", got, err, 200, out, ""); err != nil {
		return err
	}
	k := val(got.JSON200)
	if val(k.QuotaMax) != 1000 || val(k.QuotaRenewalRate) != 3600 || val(k.Rate) != 100 || val(k.Per) != 60 {
		return fmt.Errorf("read key: policy limits not applied: %s", got.Body)
	}
	// Until the key's quota counter exists, as in Tyk, only the per-API
	// limit reports quota_remaining (the session-level field reads 0).
	left := val(val(val(val(k.AccessRights)[apiID]).Limit).QuotaRemaining)
	fmt.Fprintf(out, "key %s: quota %d per %ds (%d left on httpbin), rate %g per %gs\n",
		oldKey, val(k.QuotaMax), val(k.QuotaRenewalRate), left, val(k.Rate), val(k.Per))

	// Rotate: revoke the old key, then issue a replacement under the same
	// policy, so the limits carry over without copying them.
	del, err := c.DeleteKeyWithResponse(ctx, oldKey, nil)
	if err := expect("delete old key", del, err, 200, out, "deleted key "+oldKey); err != nil {
		return err
	}
	newKey, err := issueKey(ctx, c, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "rotated key %s -> %s\n", oldKey, newKey)

	gone, err := c.GetKeyWithResponse(ctx, oldKey, nil)
	if err := expect("read old key", gone, err, 404, out, "old key "+oldKey+": 404, revoked"); err != nil {
		return err
	}
	now, err := c.GetKeyWithResponse(ctx, newKey, nil)
	if err := expect("read new key", now, err, 200, out, ""); err != nil {
		return err
	}
	fmt.Fprintf(out, "new key %s: 200, policies %v\n", newKey, val(val(now.JSON200).ApplyPolicies))
	return nil
}

// issueKey creates a key with a generated ID that only names the policy;
// the gateway fills in access rights and limits from the policy.
func issueKey(ctx context.Context, c *gen.ClientWithResponses, out io.Writer) (string, error) {
	resp, err := c.AddKeyWithResponse(ctx, gen.SessionState{ApplyPolicies: &[]string{policy}, OrgID: ptr(org)})
	if err := expect("issue key", resp, err, 200, out, ""); err != nil {
		return "", err
	}
	key := val(val(resp.JSON200).Key)
	if key == "" {
		return "", fmt.Errorf("issue key: no key in reply: %s", resp.Body)
	}
	fmt.Fprintf(out, "issued key %s under policy %s\n", key, policy)
	return key, nil
}

func reload(ctx context.Context, c *gen.ClientWithResponses, out io.Writer) error {
	resp, err := c.HotReloadWithResponse(ctx, &gen.HotReloadParams{Block: ptr(gen.HotReloadParamsBlockTrue)})
	return expect("hot reload", resp, err, 200, out, "reloaded gateway")
}

// reply is what every generated *Response has in common.
type reply interface {
	StatusCode() int
	GetBody() []byte
}

// expect turns a transport error or an unexpected status into an error
// naming the step and quoting the gateway's reply; on success it prints line.
func expect(step string, resp reply, err error, want int, out io.Writer, line string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", step, err)
	}
	if got := resp.StatusCode(); got != want {
		return fmt.Errorf("%s: got HTTP %d, want %d: %s", step, got, want, bytes.TrimSpace(resp.GetBody()))
	}
	if line != "" {
		fmt.Fprintln(out, line)
	}
	return nil
}

// ptr, alloc and val smooth over the generated types, in which every
// optional field is a pointer.
func ptr[T any](v T) *T { return &v }

func alloc[T any](p **T) *T {
	*p = new(T)
	return *p
}

func val[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
