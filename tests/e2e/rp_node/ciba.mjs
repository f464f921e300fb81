// An agent desk (the hotline's CIBA client) on npm openid-client 6.x, used unchanged, for
// the end-to-end test tests/e2e/test_ciba_openid_client.py.
//
// Configuration comes as JSON in CIBA_CONFIG:
//   {"issuer": "http://127.0.0.1:P", "client_id", "client_secret",
//    "parameters": {"scope", "login_hint", "binding_message", "acr_values"?, ...}}
//
// Prints one JSON line per step on stdout:
//   {"started": {auth_req_id, expires_in, interval}}   once the provider took the request
//   {"ok": true, "claims": ID token claims, "scope", "token_type", "expires_in",
//    "access_token"}                                   once the caller approved
//   {"ok": false, "error": {...}}                      on any failure (exit status 1)
import * as client from 'openid-client'

const config = JSON.parse(process.env.CIBA_CONFIG)

function describe(error) {
  const fields = ['name', 'message', 'code', 'error', 'error_description', 'status']
  const out = {}
  for (const field of fields) if (error?.[field] !== undefined) out[field] = error[field]
  if (error?.cause?.message) out.cause = error.cause.message
  return out
}

function say(value) {
  process.stdout.write(JSON.stringify(value) + '\n')
}

try {
  const desk = await client.discovery(
    new URL(config.issuer),
    config.client_id,
    undefined,
    client.ClientSecretBasic(config.client_secret),
    { execute: [client.allowInsecureRequests] },
  )
  const started = await client.initiateBackchannelAuthentication(desk, config.parameters)
  say({ started })
  const tokens = await client.pollBackchannelAuthenticationGrant(desk, started)
  say({
    ok: true,
    claims: tokens.claims(),
    scope: tokens.scope,
    token_type: tokens.token_type,
    expires_in: tokens.expires_in,
    access_token: tokens.access_token,
  })
} catch (error) {
  say({ ok: false, error: describe(error) })
  process.exitCode = 1
}
