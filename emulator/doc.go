// Package emulator is a local, in-memory emulator of the CipherStash token service (CTS) and
// of the one ZeroKMS call stack-auth makes. It speaks the wire protocol of docs/protocol.md
// (section 2) byte for byte, so upstream's clients, golang.org/x/oauth2 and this project's own
// client all work against it unchanged. It is what `stack-auth serve` runs and what every
// test suite in the repository talks to.
//
// It listens on loopback only: it hands out real, signed tokens to anyone who asks nicely.
//
// # Wire protocol (all POST unless noted; errors are {"error","error_description"} JSON)
//
//	POST /api/authorise           {"accessKey","audience"?} or {"oidcToken","workspaceId"}
//	                              -> {"accessToken","expiry"} (expiry = absolute exp, unix s)
//	POST /oauth/device/code       form client_id=cli[&device_instance_id&device_name]
//	                              -> {"device_code","user_code","verification_uri",
//	                                  "verification_uri_complete","expires_in","interval"}
//	POST /oauth/device/token      form client_id, device_code, grant_type=urn:ietf:params:oauth:grant-type:device_code
//	                              -> {"access_token","token_type","expires_in","refresh_token"}
//	                              or 400 authorization_pending | slow_down | expired_token |
//	                              access_denied | invalid_grant | invalid_client
//	POST /oauth/token             form grant_type=refresh_token, client_id, refresh_token
//	                              [, device_instance_id]; rotates the refresh token; replaying a
//	                              spent one revokes the whole chain (400 invalid_grant)
//	POST /zerokms/create-client   Bearer JWT; {"keyset_id","name","description"}
//	                              -> {"id","dataset_id","name","description","client_key"};
//	                              409 for a repeated (workspace, name)
//	GET  /.well-known/jwks.json   the ES256 public key the JWTs are signed with
//	GET  /device[?user_code=...]  the device verification page (POST /device approves/denies)
//
// Request bodies are capped at 1 MiB (413); malformed JSON, unknown JSON keys, a wrong
// content type or a wrong method answer 4xx with an OAuth-style body, never 500.
//
// # Test control API (/_emulator/..., JSON in and out, never recorded in the request log)
//
//	POST   /_emulator/faults       {"path":"/api/authorise","status":503,"body":"...",
//	                                "contentType":"...","noBody":false,"delayMs":0,"count":1,
//	                                "reset":false}
//	                               The next count requests to path (0 = until cleared) get the
//	                               fault. delayMs waits first (abandoned if the client goes
//	                               away); then reset:true closes the TCP connection with an RST
//	                               and no response; else a non-zero status answers with body
//	                               (verbatim; when empty, an OAuth-style body for that status,
//	                               402 gets cs_code USAGE_LIMIT_EXCEEDED; noBody:true sends
//	                               nothing); status 0 only delays, then serves normally.
//	                               Answers {"faults":[...]} (the active faults).
//	GET    /_emulator/faults       {"faults":[...]}
//	DELETE /_emulator/faults       clears every fault.
//	POST   /_emulator/approve      {"userCode":"ABCD-EFGH","workspaceId"?:"...","user"?:"..."}
//	                               approves a device code (as the page's Approve button does);
//	                               workspaceId defaults to the default workspace, user to
//	                               "developer" (the token's sub is "CS|emulator|<user>").
//	POST   /_emulator/deny         {"userCode":"ABCD-EFGH"}
//	                               Both answer {"userCode","status"}; 404 unknown/expired code,
//	                               409 when the code was already decided.
//	GET    /_emulator/requests     {"requests":[{"method","path","keys","status","time"}]}:
//	                               every non-control request, with the sorted names of its
//	                               form/JSON body keys and never a value. status 0 = reset.
//	DELETE /_emulator/requests     clears the log.
//	GET    /_emulator/config       {"tokenTtlSecs","deviceCodeTtlSecs","pollIntervalSecs","autoApprove"}
//	POST   /_emulator/config       same shape, every field optional; answers the new config.
//	                               pollIntervalSecs 0 turns slow_down off.
//	GET    /_emulator/state        {"url","zerokmsUrl","region","workspaceId","workspaceCrn",
//	                                "workspaces":[ids]} (no secrets)
//	POST   /_emulator/usage-limit  {"workspaceId":"...","code":"USAGE_LIMIT_EXCEEDED"|
//	                               "ORG_NOT_PROVISIONED"|""}: every token issuance for that
//	                               workspace answers 402 {"error":"access_denied",
//	                               "error_description","cs_code"} until cleared with "".
//	POST   /_emulator/workspaces   {} -> {"workspaceId","workspaceCrn","accessKey"}: a new
//	                               workspace with its first access key.
//	POST   /_emulator/access-keys  {"workspaceId"} -> {"accessKey"}
//	POST   /_emulator/tokens       {"workspaceId"?,"subject"?,"ttlSecs"?} -> {"accessToken",
//	                               "expiry"}: a signed CTS JWT, for ZeroKMS tests.
//
// Secrets (access keys, tokens, refresh tokens, device codes, client keys) are never logged
// and never echoed in an error; the request log keeps key names only.
package emulator
