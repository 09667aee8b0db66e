// Type declarations for Tollgate's JavaScript plugin API (Tyk JSVM
// compatible). Reference this file from a script or a jsconfig.json so an
// editor completes request.SetHeaders, TykJS.TykMiddleware.NewMiddleware,
// TykMakeHttpRequest and the rest:
//
//   /// <reference path="tollgate.d.ts" />
//
// Scripts run as plain (non-module, sloppy-mode) ES5+ code on goja; every
// file shares one global namespace per API.

// ---------------------------------------------------------------------------
// The request a middleware gets

/** What a script may set to answer the client instead of going on. */
interface TykReturnOverrides {
    /** 0: go on. >= 400 (without OverrideError): Tyk's error body with ResponseBody as message. Other: this status, body verbatim. */
    ResponseCode: number;
    /** When non-empty, replaces ResponseBody. */
    ResponseError: string;
    ResponseBody: string;
    /** Starts as null: assign an object, do not index into it. */
    ResponseHeaders: { [name: string]: string } | null;
    /** Send a >= 400 ResponseBody verbatim instead of wrapping it in the error body. */
    OverrideError: boolean;
}

/** The request object of pre, auth_check, post_key_auth and post hooks. */
interface TykRequest {
    /** Inbound headers (canonical names) plus Host. Read-only. */
    Headers: { [name: string]: string[] };
    /** Headers to set (replacing all values), applied after DeleteHeaders. */
    SetHeaders: { [name: string]: string };
    /** Headers to remove, applied first. */
    DeleteHeaders: string[];
    /** The body as a string; assign to replace it (unless IgnoreBody). Bytes that are not UTF-8 survive a round trip. */
    Body: string;
    /** Keep the original body whatever Body says. */
    IgnoreBody: boolean;
    /** Path and query as received (listen path included); assign to rewrite. */
    URL: string;
    /** Query parameters. Read-only. */
    Params: { [name: string]: string[] };
    /** Query parameters to set (replacing values), after DeleteParams. */
    AddParams: { [name: string]: string };
    /** Query parameter values to append, after AddParams. */
    ExtendedParams: { [name: string]: string[] };
    /** Query parameters to remove, applied first. */
    DeleteParams: string[];
    ReturnOverrides: TykReturnOverrides;
    /** Read-only. */
    Method: string;
    /** The raw request target. Read-only. */
    RequestURI: string;
    /** "http" or "https". Read-only. */
    Scheme: string;
}

/** The request object of a virtual endpoint (read-only). */
interface TykVirtualRequest {
    Headers: { [name: string]: string[] };
    /** The raw body. */
    Body: string;
    URL: string;
    /** Query parameters and url-encoded form fields. */
    Params: { [name: string]: string[] };
    Scheme: string;
}

/** The request object of a response hook (read-only; no body). */
interface TykResponseRequest {
    Headers: { [name: string]: string[] };
    URL: string;
    Params: { [name: string]: string[] };
    Method: string;
    RequestURI: string;
    Scheme: string;
}

/** The response a response hook gets (Tollgate addition). */
interface TykResponse {
    /** The status; assign to change it. */
    Code: number;
    /** Upstream headers. Read-only. */
    Headers: { [name: string]: string[] };
    SetHeaders: { [name: string]: string };
    DeleteHeaders: string[];
    /** The body; read and assign as needed (read only when touched). */
    Body: string;
}

// ---------------------------------------------------------------------------
// Session and config

interface TykAccessSpec {
    url: string;
    methods: string[];
}

interface TykAPILimit {
    rate: number;
    per: number;
    throttle_interval: number;
    throttle_retry_limit: number;
    max_query_depth: number;
    quota_max: number;
    quota_renews: number;
    quota_remaining: number;
    quota_renewal_rate: number;
    smoothing: TykSmoothing | null;
}

interface TykSmoothing {
    enabled: boolean;
    threshold: number;
    trigger: number;
    step: number;
    delay: number;
}

interface TykAccessDefinition {
    api_name: string;
    api_id: string;
    versions: string[];
    allowed_urls: TykAccessSpec[];
    restricted_types: { name: string; fields: string[] }[];
    allowed_types: { name: string; fields: string[] }[];
    limit: TykAPILimit;
    field_access_rights: { type_name: string; field_name: string; limits: { max_query_depth: number } }[];
    disable_introspection: boolean;
    allowance_scope: string;
}

/** A key's session, as the key REST API shows it. */
interface TykSession {
    last_check: number;
    allowance: number;
    rate: number;
    per: number;
    throttle_interval: number;
    throttle_retry_limit: number;
    max_query_depth: number;
    /** RFC 3339. */
    date_created: string;
    /** Unix seconds; 0 = never. */
    expires: number;
    /** -1 = unlimited. */
    quota_max: number;
    quota_renews: number;
    quota_remaining: number;
    quota_renewal_rate: number;
    access_rights: { [apiID: string]: TykAccessDefinition } | null;
    org_id: string;
    oauth_client_id: string;
    oauth_keys: { [k: string]: string } | null;
    certificate: string;
    basic_auth_data: { password: string; hash_type: string };
    jwt_data: { secret: string };
    hmac_enabled: boolean;
    enable_http_signature_validation: boolean;
    hmac_string: string;
    rsa_certificate_id: string;
    is_inactive: boolean;
    apply_policy_id: string;
    apply_policies: string[] | null;
    data_expires: number;
    monitor: { trigger_limits: number[] | null };
    enable_detail_recording: boolean;
    enable_detailed_recording: boolean;
    meta_data: { [k: string]: any } | null;
    tags: string[] | null;
    alias: string;
    last_updated: string;
    id_extractor_deadline: number;
    session_lifetime: number;
    smoothing: TykSmoothing | null;
}

/** The third argument of every call. config_data is absent when config_data_disabled. */
interface TykConfig {
    OrgID: string;
    APIID: string;
    config_data?: { [k: string]: any } | null;
}

// ---------------------------------------------------------------------------
// What handlers return

interface TykMiddlewareResult {
    Request: TykRequest;
    /** String values only; replaces the key's meta_data (require_session post hooks). */
    SessionMeta?: { [k: string]: string };
}

interface TykAuthResult {
    Request: TykRequest;
    /** The session of the authenticated caller. */
    Session?: Partial<TykSession>;
    /** The identity the session is stored under; set it on ReturnAuthData's result. */
    AuthValue?: string;
}

interface TykResponseResult {
    Response: TykResponse;
    SessionMeta?: { [k: string]: string };
}

/** A virtual endpoint's response; pass it to TykJsResponse. */
interface TykVirtualResponse {
    Body: string;
    Headers?: { [name: string]: string };
    Code: number;
}

type TykRequestHandler = (request: TykRequest, session: TykSession, config: TykConfig) => TykMiddlewareResult | TykAuthResult;
type TykResponseHandler = (request: TykResponseRequest, response: TykResponse, session: TykSession, config: TykConfig) => TykResponseResult;

// ---------------------------------------------------------------------------
// The TykJS prelude

declare class TykMiddlewareComponentMeta {
    constructor(configuration: any);
    configuration: any;
    ProcessRequest(request: TykRequest, session: TykSession, config: TykConfig): TykMiddlewareResult | TykAuthResult;
    DoProcessRequest(request: TykRequest, session: TykSession, config: TykConfig): TykMiddlewareResult | TykAuthResult | undefined;
    ProcessResponse(request: TykResponseRequest, response: TykResponse, session: TykSession, config: TykConfig): TykResponseResult;
    DoProcessResponse(request: TykResponseRequest, response: TykResponse, session: TykSession, config: TykConfig): TykResponseResult | undefined;
}

declare class TykNewMiddleware extends TykMiddlewareComponentMeta {
    /** Installs the request handler. */
    NewProcessRequest(handler: TykRequestHandler): void;
    /** Installs a response handler (Tollgate addition: used by custom_middleware.response). */
    NewProcessResponse(handler: TykResponseHandler): void;
    ReturnData(request: TykRequest, sessionMeta: { [k: string]: string }): TykMiddlewareResult;
    ReturnAuthData(request: TykRequest, session: Partial<TykSession>): TykAuthResult;
    ReturnResponseData(response: TykResponse, sessionMeta: { [k: string]: string }): TykResponseResult;
}

interface TykEvent {
    Type: string;
    Meta: { [k: string]: any };
    TimeStamp: string;
}

declare class TykEventHandlerComponentMeta {
    Handle(event: TykEvent, context: { APIID: string; OrgID: string }): void;
    DoProcessEvent(event: TykEvent, context: { APIID: string; OrgID: string }): void;
}

declare class TykNewEventHandler extends TykEventHandlerComponentMeta {
    NewHandler(handler: (event: TykEvent, context: { APIID: string; OrgID: string }) => void): void;
}

declare const TykJS: {
    TykMiddleware: {
        MiddlewareComponentMeta: typeof TykMiddlewareComponentMeta;
        NewMiddleware: typeof TykNewMiddleware;
    };
    TykEventHandlers: {
        EventHandlerComponentMeta: typeof TykEventHandlerComponentMeta;
        NewEventHandler: typeof TykNewEventHandler;
    };
};

/** JSON.stringify({Response: response, SessionMeta: sessionMeta}): what a virtual endpoint returns. */
declare function TykJsResponse(response: TykVirtualResponse, sessionMeta?: { [k: string]: any } | null): string;

// ---------------------------------------------------------------------------
// Go-backed globals

/** Logs at info level. */
declare function log(message: any): void;
/** Writes the message and a newline to the gateway's output, unformatted. */
declare function rawlog(message: any): void;
/** Standard padded base64 of the string's bytes. */
declare function b64enc(s: string): string;
/** Decodes standard base64 (padded or not); undefined when it is not base64. */
declare function b64dec(s: string): string | undefined;
/** Standard base64 without padding. */
declare function rawb64enc(s: string): string;
/** Decodes unpadded standard base64; undefined otherwise. */
declare function rawb64dec(s: string): string | undefined;

/** The argument of TykMakeHttpRequest, as JSON. Keys match case-insensitively. */
interface TykHttpRequest {
    Method: string;
    /** Scheme and host (and optionally a path); Resource is appended. */
    Domain: string;
    Resource: string;
    Headers?: { [name: string]: string };
    Body?: string;
    /** Sent url-encoded when Body is empty (set Content-Type yourself). */
    FormData?: { [field: string]: string };
}

/** TykMakeHttpRequest's reply, once JSON.parse'd. */
interface TykHttpResponse {
    Code: number;
    Body: string;
    Headers: { [name: string]: string[] };
    code: number;
    body: string;
    headers: { [name: string]: string[] };
}

/** Synchronous outbound call: JSON.stringify a TykHttpRequest, JSON.parse the TykHttpResponse. undefined on failure. */
declare function TykMakeHttpRequest(request: string): string | undefined;

interface TykBatchRequestSpec {
    requests: { method: string; headers?: { [name: string]: string }; body?: string; relative_url: string }[];
    suppress_parallel_execution?: boolean;
}

interface TykBatchReply {
    relative_url: string;
    code: number;
    headers: { [name: string]: string[] };
    body: string;
}

/** Runs several calls (relative_url is an absolute URL here); replies in completion order unless suppress_parallel_execution. JSON of TykBatchReply[]. */
declare function TykBatchRequest(spec: string): string | undefined;

/** A key's session with policies applied, as JSON; {"status":"error","message":"Key not found"} when unknown. */
declare function TykGetKeyData(key: string, apiID: string): string;
/** Creates or replaces a key from session JSON; suppressReset "1" keeps the quota and last_updated. */
declare function TykSetKeyData(key: string, session: string, suppressReset?: string): void;

/** Underscore.js 1.13 (vendored). */
declare const _: any;
