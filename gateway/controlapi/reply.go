package controlapi

import (
	"encoding/json"
	"net/http"
)

// reply is the one response type of every operation: a status and a value
// written as JSON. Tyk answers with statuses the 5.4.0 document does not
// list (404 for a missing key, for one), so operations return this rather
// than the generated per-status types.
type reply struct {
	status int
	body   any
}

// ok, status and fail build replies.
func ok(body any) reply { return reply{http.StatusOK, body} }

func fail(code int, msg string) reply { return reply{code, statusBody{"error", msg}} }

// statusBody is Tyk's {"status","message"} body.
type statusBody struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// modifyBody is Tyk's reply to a write: key, status, action and, when keys
// are hashed, key_hash (in that order).
type modifyBody struct {
	Key     string `json:"key"`
	Status  string `json:"status"`
	Action  string `json:"action"`
	KeyHash string `json:"key_hash,omitempty"`
}

func modified(key, action, hash string) reply {
	return ok(modifyBody{Key: key, Status: "ok", Action: action, KeyHash: hash})
}

// write sends the reply as Tyk does: application/json without a charset,
// ending in a newline.
func (r reply) write(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(r.status)
	return json.NewEncoder(w).Encode(r.body)
}

func writeStatus(w http.ResponseWriter, code int, status, msg string) {
	_ = reply{code, statusBody{status, msg}}.write(w)
}

// The generated strict interface gives each operation its own response
// interface; reply satisfies all of them.
func (r reply) VisitAddCertResponse(w http.ResponseWriter) error                { return r.write(w) }
func (r reply) VisitAddKeyResponse(w http.ResponseWriter) error                 { return r.write(w) }
func (r reply) VisitAddOrgKeyResponse(w http.ResponseWriter) error              { return r.write(w) }
func (r reply) VisitAddPolicyResponse(w http.ResponseWriter) error              { return r.write(w) }
func (r reply) VisitAuthorizeClientResponse(w http.ResponseWriter) error        { return r.write(w) }
func (r reply) VisitBatchResponse(w http.ResponseWriter) error                  { return r.write(w) }
func (r reply) VisitCreateApiOASResponse(w http.ResponseWriter) error           { return r.write(w) }
func (r reply) VisitCreateApiResponse(w http.ResponseWriter) error              { return r.write(w) }
func (r reply) VisitCreateCustomKeyResponse(w http.ResponseWriter) error        { return r.write(w) }
func (r reply) VisitCreateKeyResponse(w http.ResponseWriter) error              { return r.write(w) }
func (r reply) VisitCreateOAuthClientResponse(w http.ResponseWriter) error      { return r.write(w) }
func (r reply) VisitDeleteApiResponse(w http.ResponseWriter) error              { return r.write(w) }
func (r reply) VisitDeleteCertsResponse(w http.ResponseWriter) error            { return r.write(w) }
func (r reply) VisitDeleteKeyResponse(w http.ResponseWriter) error              { return r.write(w) }
func (r reply) VisitDeleteOASApiResponse(w http.ResponseWriter) error           { return r.write(w) }
func (r reply) VisitDeleteOAuthClientResponse(w http.ResponseWriter) error      { return r.write(w) }
func (r reply) VisitDeleteOrgKeyResponse(w http.ResponseWriter) error           { return r.write(w) }
func (r reply) VisitDeletePolicyResponse(w http.ResponseWriter) error           { return r.write(w) }
func (r reply) VisitDownloadApiOASPublicResponse(w http.ResponseWriter) error   { return r.write(w) }
func (r reply) VisitDownloadApisOASPublicResponse(w http.ResponseWriter) error  { return r.write(w) }
func (r reply) VisitGetApiResponse(w http.ResponseWriter) error                 { return r.write(w) }
func (r reply) VisitGetApiStatusResponse(w http.ResponseWriter) error           { return r.write(w) }
func (r reply) VisitGetKeyResponse(w http.ResponseWriter) error                 { return r.write(w) }
func (r reply) VisitGetOAuthClientResponse(w http.ResponseWriter) error         { return r.write(w) }
func (r reply) VisitGetOAuthClientTokensResponse(w http.ResponseWriter) error   { return r.write(w) }
func (r reply) VisitGetOrgKeyResponse(w http.ResponseWriter) error              { return r.write(w) }
func (r reply) VisitGetPolicyResponse(w http.ResponseWriter) error              { return r.write(w) }
func (r reply) VisitGetSchemaResponse(w http.ResponseWriter) error              { return r.write(w) }
func (r reply) VisitHelloResponse(w http.ResponseWriter) error                  { return r.write(w) }
func (r reply) VisitHotReloadGroupResponse(w http.ResponseWriter) error         { return r.write(w) }
func (r reply) VisitHotReloadResponse(w http.ResponseWriter) error              { return r.write(w) }
func (r reply) VisitImportOASResponse(w http.ResponseWriter) error              { return r.write(w) }
func (r reply) VisitInvalidateCacheResponse(w http.ResponseWriter) error        { return r.write(w) }
func (r reply) VisitInvalidateOAuthRefreshResponse(w http.ResponseWriter) error { return r.write(w) }
func (r reply) VisitListApiOASResponse(w http.ResponseWriter) error             { return r.write(w) }
func (r reply) VisitListApiVersionsResponse(w http.ResponseWriter) error        { return r.write(w) }
func (r reply) VisitListApisOASResponse(w http.ResponseWriter) error            { return r.write(w) }
func (r reply) VisitListApisResponse(w http.ResponseWriter) error               { return r.write(w) }
func (r reply) VisitListCertsResponse(w http.ResponseWriter) error              { return r.write(w) }
func (r reply) VisitListKeysResponse(w http.ResponseWriter) error               { return r.write(w) }
func (r reply) VisitListOASApiVersionsResponse(w http.ResponseWriter) error     { return r.write(w) }
func (r reply) VisitListOAuthClientsResponse(w http.ResponseWriter) error       { return r.write(w) }
func (r reply) VisitListOrgKeysResponse(w http.ResponseWriter) error            { return r.write(w) }
func (r reply) VisitListPoliciesResponse(w http.ResponseWriter) error           { return r.write(w) }
func (r reply) VisitPatchApiOASResponse(w http.ResponseWriter) error            { return r.write(w) }
func (r reply) VisitPreviewKeyResponse(w http.ResponseWriter) error             { return r.write(w) }
func (r reply) VisitRevokeAllTokensResponse(w http.ResponseWriter) error        { return r.write(w) }
func (r reply) VisitRevokeSingleTokenResponse(w http.ResponseWriter) error      { return r.write(w) }
func (r reply) VisitSetKeyPoliciesResponse(w http.ResponseWriter) error         { return r.write(w) }
func (r reply) VisitUpdateApiOASResponse(w http.ResponseWriter) error           { return r.write(w) }
func (r reply) VisitUpdateApiResponse(w http.ResponseWriter) error              { return r.write(w) }
func (r reply) VisitUpdateKeyResponse(w http.ResponseWriter) error              { return r.write(w) }
func (r reply) VisitUpdateOrgKeyResponse(w http.ResponseWriter) error           { return r.write(w) }
func (r reply) VisitUpdatePolicyResponse(w http.ResponseWriter) error           { return r.write(w) }
func (r reply) VisitUpdateoAuthClientResponse(w http.ResponseWriter) error      { return r.write(w) }
