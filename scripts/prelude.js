// Tollgate's JavaScript prelude. Every API's runtimes evaluate it first,
// right after Underscore.js, so middleware written for Tyk's JSVM finds the
// TykJS namespace it is written against.
//
// The gateway calls middleware.DoProcessRequest(request, session, config)
// and reads the object it returns; virtual endpoints are plain global
// functions and return the string made by TykJsResponse.

var TykJS = {
    TykMiddleware: {},
    TykEventHandlers: {}
};

(function (mw) {
    // The base every middleware object inherits from.
    function MiddlewareComponentMeta(configuration) {
        this.configuration = configuration;
    }

    // Until NewProcessRequest installs a handler, a middleware answers with
    // the bare request, which is not a result: the call fails.
    MiddlewareComponentMeta.prototype.ProcessRequest = function (request, session, config) {
        log("ProcessRequest is not implemented by this middleware");
        return request;
    };

    MiddlewareComponentMeta.prototype.DoProcessRequest = function (request, session, config) {
        var result = this.ProcessRequest(request, session, config);
        if (!result) {
            log("middleware returned no result");
            return undefined;
        }
        return result;
    };

    // Response hooks are a Tollgate addition: Tyk's JSVM has none.
    MiddlewareComponentMeta.prototype.ProcessResponse = function (request, response, session, config) {
        log("ProcessResponse is not implemented by this middleware");
        return undefined;
    };

    MiddlewareComponentMeta.prototype.DoProcessResponse = function (request, response, session, config) {
        var result = this.ProcessResponse(request, response, session, config);
        if (!result) {
            log("response middleware returned no result");
            return undefined;
        }
        return result;
    };

    // The constructor scripts use: new TykJS.TykMiddleware.NewMiddleware({}).
    function NewMiddleware(configuration) {
        MiddlewareComponentMeta.call(this, configuration);
    }
    NewMiddleware.prototype = Object.create(MiddlewareComponentMeta.prototype);
    NewMiddleware.prototype.constructor = NewMiddleware;

    NewMiddleware.prototype.NewProcessRequest = function (handler) {
        this.ProcessRequest = handler;
    };

    NewMiddleware.prototype.NewProcessResponse = function (handler) {
        this.ProcessResponse = handler;
    };

    // What a request handler returns: the (changed) request and the key's
    // new metadata.
    NewMiddleware.prototype.ReturnData = function (request, sessionMeta) {
        return { Request: request, SessionMeta: sessionMeta };
    };

    // What an auth_check handler returns; add AuthValue to it to name the
    // identity the session is stored under.
    NewMiddleware.prototype.ReturnAuthData = function (request, session) {
        return { Request: request, Session: session };
    };

    // What a response handler returns.
    NewMiddleware.prototype.ReturnResponseData = function (response, sessionMeta) {
        return { Response: response, SessionMeta: sessionMeta };
    };

    mw.MiddlewareComponentMeta = MiddlewareComponentMeta;
    mw.NewMiddleware = NewMiddleware;
})(TykJS.TykMiddleware);

(function (eh) {
    // Event handlers can be defined so that scripts written for Tyk load;
    // Tollgate does not dispatch gateway events to JavaScript.
    function EventHandlerComponentMeta() {}

    EventHandlerComponentMeta.prototype.Handle = function (event, context) {
        log("Handle is not implemented by this event handler");
    };

    EventHandlerComponentMeta.prototype.DoProcessEvent = function (event, context) {
        return this.Handle(event, context);
    };

    function NewEventHandler() {
        EventHandlerComponentMeta.call(this);
    }
    NewEventHandler.prototype = Object.create(EventHandlerComponentMeta.prototype);
    NewEventHandler.prototype.constructor = NewEventHandler;

    NewEventHandler.prototype.NewHandler = function (handler) {
        this.Handle = handler;
    };

    eh.EventHandlerComponentMeta = EventHandlerComponentMeta;
    eh.NewEventHandler = NewEventHandler;
})(TykJS.TykEventHandlers);

// The string a virtual endpoint returns.
function TykJsResponse(response, sessionMeta) {
    return JSON.stringify({ Response: response, SessionMeta: sessionMeta });
}
