/// <reference path="../../scripts/tollgate.d.ts" />
// A virtual endpoint that answers GET /profile/{user} from two upstream
// services: the user record and the user's orders, fetched with
// TykMakeHttpRequest and combined into one JSON document. The service
// addresses come from config_data.

function aggregateProfile(request, session, config) {
    var data = config.config_data || {};
    var user = request.URL.split("?")[0].split("/").pop();

    function fetch(base, path) {
        var raw = TykMakeHttpRequest(JSON.stringify({
            Method: "GET",
            Domain: base,
            Resource: path,
            Headers: { "Accept": "application/json" }
        }));
        if (raw === undefined) {
            return { ok: false, status: 0, body: null };
        }
        var reply = JSON.parse(raw);
        var body = null;
        try {
            body = JSON.parse(reply.Body);
        } catch (e) {
            body = reply.Body;
        }
        return { ok: reply.Code < 400, status: reply.Code, body: body };
    }

    var profile = fetch(data.users_service, "/users/" + encodeURIComponent(user));
    var orders = fetch(data.orders_service, "/orders?user=" + encodeURIComponent(user));
    var complete = profile.ok && orders.ok;

    return TykJsResponse({
        Code: complete ? 200 : 502,
        Headers: {
            "Content-Type": "application/json",
            "X-Aggregated-From": "users,orders",
            "Cache-Control": "no-store"
        },
        Body: JSON.stringify({
            user: user,
            profile: profile.body,
            orders: orders.body,
            complete: complete
        })
    }, session.meta_data);
}
