/// <reference path="../../scripts/tollgate.d.ts" />
// A pre hook that stamps every request before it goes upstream: the API's
// tenant (from config_data), the gateway's name, and a request ID when the
// client sent none. Debug headers from the outside are dropped.

var headerInject = new TykJS.TykMiddleware.NewMiddleware({});

headerInject.NewProcessRequest(function (request, session, config) {
    var data = config.config_data || {};
    request.SetHeaders["X-Tenant"] = data.tenant || "default";
    request.SetHeaders["X-Gateway"] = "tollgate";
    if (!request.Headers["X-Request-Id"]) {
        request.SetHeaders["X-Request-Id"] = "req-" + rawb64enc(request.Method + " " + request.URL);
    }
    request.DeleteHeaders.push("X-Internal-Debug");
    return headerInject.ReturnData(request, {});
});
