// Package bundle fetches, checks, unpacks and caches plugin bundles, and
// builds and verifies them for the `tollgate bundle` command.
//
// # What a bundle is
//
// A bundle is a ZIP file with manifest.json at its root and the plugin
// files next to it. The manifest has four fields:
//
//	file_list          the files the checksum and the signature cover, in order
//	custom_middleware  the hooks, with the schema of an API definition's
//	                   custom_middleware section; it replaces the API's own
//	checksum           lowercase hex MD5 of the bytes of the file_list files,
//	                   concatenated in list order (manifest.json not included)
//	signature          base64 RSA PKCS#1 v1.5 signature of the SHA-256 of those
//	                   same bytes, or empty
//
// The signature is checked only when the gateway has public_key_path; then
// an unsigned bundle is refused ("Bundle isn't signed"), and every hook
// path must be listed in file_list so that all code that runs is covered by
// the signature.
//
// # Where bundles come from
//
// An API names its bundle in custom_middleware_bundle (ignored with
// custom_middleware_bundle_disabled). The bundle is read from
// bundle_base_url with the name joined onto its path: http and https URLs
// are fetched (bundle_insecure_skip_verify skips TLS verification; each
// attempt is bounded to 5 seconds; 5 attempts in all, waiting 250 ms, then
// twice as long each time, at most 5 s), and a file:// URL or a plain
// directory path is read from the local disk (a Tollgate addition).
// enable_bundle_downloader must be on to fetch a bundle that is not unpacked
// yet.
//
// # Unpacking and caching
//
// A bundle is unpacked under <middleware_path>/bundles/<md5 hex of the
// bundle name>, the directory name Tyk uses. It is unpacked into a
// temporary directory next to it, verified there, and renamed into place
// only when it is good, so a half-written or failed bundle is never found
// later. Unpacking refuses entries that would land outside the directory,
// symbolic links and other non-regular files, duplicate entries, and
// bundles over the size and file-count limits (Limits). Directories are
// created as needed, with or without directory entries in the ZIP.
//
// On later loads (reloads, restarts) an unpacked bundle is used without
// downloading it again, but it is verified again each time; a copy that no
// longer verifies is removed and fetched anew. A new bundle version needs a
// new bundle name, as in Tyk.
//
// When the bundle is good, the manifest's custom_middleware replaces the
// API's, with hook paths left relative to the bundle directory, and the
// definition's BundleDir is set to that directory (an absolute path). Hook
// paths that would leave the bundle directory are refused.
//
// # Plugin executables per platform
//
// A bundle for the managed driver (Go plugins built as executables with
// plugins/sdk and run through hashicorp/go-plugin) may carry one executable
// per platform. For a hook whose path is P, the file
// plugins/<GOOS>_<GOARCH>/P of the bundle is used when it exists (for
// example plugins/linux_amd64/auth and plugins/darwin_arm64/auth for
// "path": "auth"), else P itself; the hook's path is rewritten to the file
// chosen, which is made executable. A managed hook with no file for the
// running platform fails the bundle. List every platform's file in
// file_list so that all of them are checked.
//
// # The command
//
//	tollgate bundle build [-m manifest.json] [-o bundle.zip] [-k private.pem] [-y]
//	tollgate bundle verify bundle.zip [-k public.pem]
//
// build checks the manifest (every file_list entry exists, at least one hook,
// a driver), computes the checksum, signs with -k (RSA key in PKCS#1 or
// PKCS#8 PEM) and writes the ZIP: the file_list files under their listed
// paths, then manifest.json. file_list paths are relative to the manifest's
// directory. Without -k it asks for confirmation before building an
// unsigned bundle, unless -y is given. verify unpacks a bundle as the
// gateway would and checks its checksum, and its signature with -k.
package bundle
