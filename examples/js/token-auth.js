/// <reference path="../../scripts/tollgate.d.ts" />
// Custom authentication (auth_check): the caller presents a token in the
// api_key query parameter or the X-Api-Key header. Known tokens are listed
// in the API's config_data; each maps to a user and a rate limit. The
// session is stored under "user-<name>", so limits and quotas count per
// user however many tokens they hold.

var tokenAuth = new TykJS.TykMiddleware.NewMiddleware({});

tokenAuth.NewProcessRequest(function (request, session, config) {
    var token = "";
    if (request.Params["api_key"]) {
        token = request.Params["api_key"][0];
    } else if (request.Headers["X-Api-Key"]) {
        token = request.Headers["X-Api-Key"][0];
    }

    function refuse(message) {
        request.ReturnOverrides.ResponseCode = 401;
        request.ReturnOverrides.ResponseError = message;
        return tokenAuth.ReturnAuthData(request, session);
    }

    if (token === "") {
        return refuse("API key missing");
    }
    var tokens = (config.config_data || {}).tokens || {};
    var holder = tokens[token];
    if (!holder) {
        return refuse("API key not recognised");
    }

    // The token has done its job: it does not travel upstream.
    request.DeleteParams.push("api_key");
    request.DeleteHeaders.push("X-Api-Key");
    request.SetHeaders["X-Authenticated-User"] = holder.user;

    var result = tokenAuth.ReturnAuthData(request, {
        org_id: config.OrgID,
        rate: holder.rate || 10,
        per: 1,
        quota_max: -1,
        access_rights: {},
        meta_data: { user: holder.user }
    });
    result.AuthValue = "user-" + holder.user;
    return result;
});
