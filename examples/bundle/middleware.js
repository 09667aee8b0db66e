// A pre hook shipped in a plugin bundle: every request gets the header
// X-Bundle-Greeting before it is proxied. The global variable's name is the
// hook name in manifest.json.
var bundleGreeting = new TykJS.TykMiddleware.NewMiddleware({});

bundleGreeting.NewProcessRequest(function (request, session, config) {
  request.SetHeaders["X-Bundle-Greeting"] = "hello from a signed bundle";
  return bundleGreeting.ReturnData(request, {});
});
