// A kiosk's software built on npm openid-client 6.x, used unchanged, for the end-to-end
// test tests/e2e/test_device_openid_client.py: the device authorization grant (RFC 8628).
//
// Configuration comes as JSON in DEVICE_CONFIG:
//   {"issuer": "http://127.0.0.1:P", "client_id", "client_secret"?, "scope", "acr_values"?}
//
// Prints one JSON line per step on stdout:
//   {"step": "codes", user_code, verification_uri, verification_uri_complete, expires_in, interval}
//   {"step": "tokens", "ok": true, id_token_claims, scope, token_type, refresh_token (bool)}
//   or {"step": "tokens", "ok": false, "error": {...}} when the grant failed.
import * as client from 'openid-client'

const config = JSON.parse(process.env.DEVICE_CONFIG)

function say(line) {
  process.stdout.write(JSON.stringify(line) + '\n')
}

function describe(error) {
  const fields = ['name', 'message', 'code', 'error', 'error_description', 'status']
  const out = {}
  for (const field of fields) if (error?.[field] !== undefined) out[field] = error[field]
  if (error?.cause?.message) out.cause = error.cause.message
  return out
}

async function main() {
  const auth = config.client_secret ? client.ClientSecretBasic(config.client_secret) : client.None()
  const kiosk = await client.discovery(
    new URL(config.issuer),
    config.client_id,
    {},
    auth,
    { execute: [client.allowInsecureRequests] },
  )
  const parameters = { scope: config.scope }
  if (config.acr_values) parameters.acr_values = config.acr_values
  const codes = await client.initiateDeviceAuthorization(kiosk, parameters)
  say({
    step: 'codes',
    user_code: codes.user_code,
    verification_uri: codes.verification_uri,
    verification_uri_complete: codes.verification_uri_complete,
    expires_in: codes.expires_in,
    interval: codes.interval,
  })
  try {
    // checks the ID token: signature, iss, aud, exp, iat (openid-client's own checks)
    const tokens = await client.pollDeviceAuthorizationGrant(kiosk, codes)
    say({
      step: 'tokens',
      ok: true,
      id_token_claims: tokens.claims(),
      scope: tokens.scope,
      token_type: tokens.token_type,
      refresh_token: Boolean(tokens.refresh_token),
    })
  } catch (error) {
    say({ step: 'tokens', ok: false, error: describe(error) })
  }
}

main().catch((error) => {
  say({ step: 'failed', ok: false, error: describe(error) })
  process.exitCode = 1
})
