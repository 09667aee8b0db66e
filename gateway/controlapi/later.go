package controlapi

import (
	"context"
	"net/http"

	"github.com/tollgate/tollgate/gen"
)

// notYet answers operations Tollgate does not serve yet with 501 and a
// message saying where they are planned.
func notYet(what, plan string) reply {
	return fail(http.StatusNotImplemented, what+" is not implemented in Tollgate yet ("+plan+")")
}

const (
	planOAS   = "OAS API definitions: not yet scheduled"
	planCerts = "certificate store: not yet scheduled"
	planOAuth = "OAuth2 server: not yet scheduled"
	planCache = "response cache: not yet scheduled"
	planBatch = "batch requests belong to the data plane, issue 3"
)

func (s *Server) ListApisOAS(context.Context, gen.ListApisOASRequestObject) (gen.ListApisOASResponseObject, error) {
	return notYet("Listing OAS APIs", planOAS), nil
}

func (s *Server) CreateApiOAS(context.Context, gen.CreateApiOASRequestObject) (gen.CreateApiOASResponseObject, error) {
	return notYet("Creating OAS APIs", planOAS), nil
}

func (s *Server) DownloadApisOASPublic(context.Context, gen.DownloadApisOASPublicRequestObject) (gen.DownloadApisOASPublicResponseObject, error) {
	return notYet("Exporting OAS APIs", planOAS), nil
}

func (s *Server) ImportOAS(context.Context, gen.ImportOASRequestObject) (gen.ImportOASResponseObject, error) {
	return notYet("Importing OAS documents", planOAS), nil
}

func (s *Server) DeleteOASApi(context.Context, gen.DeleteOASApiRequestObject) (gen.DeleteOASApiResponseObject, error) {
	return notYet("Deleting OAS APIs", planOAS), nil
}

func (s *Server) ListApiOAS(context.Context, gen.ListApiOASRequestObject) (gen.ListApiOASResponseObject, error) {
	return notYet("Reading OAS APIs", planOAS), nil
}

func (s *Server) PatchApiOAS(context.Context, gen.PatchApiOASRequestObject) (gen.PatchApiOASResponseObject, error) {
	return notYet("Patching OAS APIs", planOAS), nil
}

func (s *Server) UpdateApiOAS(context.Context, gen.UpdateApiOASRequestObject) (gen.UpdateApiOASResponseObject, error) {
	return notYet("Updating OAS APIs", planOAS), nil
}

func (s *Server) DownloadApiOASPublic(context.Context, gen.DownloadApiOASPublicRequestObject) (gen.DownloadApiOASPublicResponseObject, error) {
	return notYet("Exporting an OAS API", planOAS), nil
}

func (s *Server) ListOASApiVersions(context.Context, gen.ListOASApiVersionsRequestObject) (gen.ListOASApiVersionsResponseObject, error) {
	return notYet("Listing OAS API versions", planOAS), nil
}

func (s *Server) DeleteCerts(context.Context, gen.DeleteCertsRequestObject) (gen.DeleteCertsResponseObject, error) {
	return notYet("Deleting certificates", planCerts), nil
}

func (s *Server) ListCerts(context.Context, gen.ListCertsRequestObject) (gen.ListCertsResponseObject, error) {
	return notYet("Listing certificates", planCerts), nil
}

func (s *Server) AddCert(context.Context, gen.AddCertRequestObject) (gen.AddCertResponseObject, error) {
	return notYet("Adding certificates", planCerts), nil
}

func (s *Server) AuthorizeClient(context.Context, gen.AuthorizeClientRequestObject) (gen.AuthorizeClientResponseObject, error) {
	return notYet("OAuth client authorisation", planOAuth), nil
}

func (s *Server) CreateOAuthClient(context.Context, gen.CreateOAuthClientRequestObject) (gen.CreateOAuthClientResponseObject, error) {
	return notYet("Creating OAuth clients", planOAuth), nil
}

func (s *Server) ListOAuthClients(context.Context, gen.ListOAuthClientsRequestObject) (gen.ListOAuthClientsResponseObject, error) {
	return notYet("Listing OAuth clients", planOAuth), nil
}

func (s *Server) UpdateoAuthClient(context.Context, gen.UpdateoAuthClientRequestObject) (gen.UpdateoAuthClientResponseObject, error) {
	return notYet("Updating OAuth clients", planOAuth), nil
}

func (s *Server) DeleteOAuthClient(context.Context, gen.DeleteOAuthClientRequestObject) (gen.DeleteOAuthClientResponseObject, error) {
	return notYet("Deleting OAuth clients", planOAuth), nil
}

func (s *Server) GetOAuthClient(context.Context, gen.GetOAuthClientRequestObject) (gen.GetOAuthClientResponseObject, error) {
	return notYet("Reading OAuth clients", planOAuth), nil
}

func (s *Server) GetOAuthClientTokens(context.Context, gen.GetOAuthClientTokensRequestObject) (gen.GetOAuthClientTokensResponseObject, error) {
	return notYet("Listing OAuth tokens", planOAuth), nil
}

func (s *Server) InvalidateOAuthRefresh(context.Context, gen.InvalidateOAuthRefreshRequestObject) (gen.InvalidateOAuthRefreshResponseObject, error) {
	return notYet("Invalidating OAuth refresh tokens", planOAuth), nil
}

func (s *Server) RevokeSingleToken(context.Context, gen.RevokeSingleTokenRequestObject) (gen.RevokeSingleTokenResponseObject, error) {
	return notYet("Revoking OAuth tokens", planOAuth), nil
}

func (s *Server) RevokeAllTokens(context.Context, gen.RevokeAllTokensRequestObject) (gen.RevokeAllTokensResponseObject, error) {
	return notYet("Revoking OAuth tokens", planOAuth), nil
}

func (s *Server) Batch(context.Context, gen.BatchRequestObject) (gen.BatchResponseObject, error) {
	return notYet("Batch requests", planBatch), nil
}
