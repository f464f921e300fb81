// A relying party built on npm openid-client 6.x, used unchanged, for the end-to-end test
// tests/e2e/test_rp_libraries.py. The test plays the browser; this is the RP's web server.
//
// Configuration comes as JSON in RP_CONFIG:
//   {"issuer": "http://127.0.0.1:P", "port": R,
//    "clients": {NAME: {"client_id", "client_secret"?, "id_token_signed_response_alg"}},
//    "resource_server": {"client_id", "client_secret"}}
//
//   GET /login?client=NAME[&prompt=none][&pkce=0]
//       discovery, then 303 to the provider's authorization endpoint
//   GET /cb?code&state&iss
//       the whole token journey; answers JSON: {"ok": true, ...} or {"ok": false, "error"}
//   GET /bye?state  answers JSON: where the provider sent the browser after logout
//
// Prints {"listening": R} on stdout once it accepts connections.
import http from 'node:http'
import * as client from 'openid-client'

const config = JSON.parse(process.env.RP_CONFIG)
const base = `http://127.0.0.1:${config.port}`
const pending = new Map() // state -> what the callback must check

async function discover({ client_id, client_secret, id_token_signed_response_alg }) {
  const auth = client_secret ? client.ClientSecretBasic(client_secret) : client.None()
  return client.discovery(
    new URL(config.issuer),
    client_id,
    { id_token_signed_response_alg },
    auth,
    { execute: [client.allowInsecureRequests] },
  )
}

function describe(error) {
  const fields = ['name', 'message', 'code', 'error', 'error_description', 'status']
  const out = {}
  for (const field of fields) if (error?.[field] !== undefined) out[field] = error[field]
  if (error?.cause?.message) out.cause = error.cause.message
  return out
}

async function attempt(fn) {
  try {
    return { ok: true, value: await fn() }
  } catch (error) {
    return { ok: false, error: describe(error) }
  }
}

async function login(url) {
  const name = url.searchParams.get('client')
  const rp = await discover(config.clients[name])
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const nonce = client.randomNonce()
  const params = {
    redirect_uri: `${base}/cb`,
    scope: 'openid profile phone offline_access',
    state,
    nonce,
  }
  const pkce = url.searchParams.get('pkce') !== '0'
  if (pkce) {
    params.code_challenge = await client.calculatePKCECodeChallenge(verifier)
    params.code_challenge_method = 'S256'
  }
  if (url.searchParams.get('prompt')) params.prompt = url.searchParams.get('prompt')
  pending.set(state, { name, rp, verifier: pkce ? verifier : undefined, nonce })
  return client.buildAuthorizationUrl(rp, params)
}

async function callback(url) {
  const flow = pending.get(url.searchParams.get('state'))
  if (!flow) return { ok: false, error: { message: 'unknown state' } }
  pending.delete(url.searchParams.get('state'))
  const { rp, name } = flow
  const resourceServer = await discover(config.resource_server)

  const granted = await attempt(() =>
    client.authorizationCodeGrant(rp, url, {
      pkceCodeVerifier: flow.verifier,
      expectedNonce: flow.nonce,
      expectedState: url.searchParams.get('state'),
      idTokenExpected: true,
    }),
  )
  if (!granted.ok) return granted
  const tokens = granted.value
  const claims = tokens.claims()
  const userinfo = await client.fetchUserInfo(rp, tokens.access_token, claims.sub)

  // Two refreshes: each must rotate the refresh token and mint a new access token.
  const refreshed = await client.refreshTokenGrant(rp, tokens.refresh_token)
  const refreshedAgain = await client.refreshTokenGrant(rp, refreshed.refresh_token)

  const accessToken = refreshedAgain.access_token
  const introspection = {
    by_resource_server: await client.tokenIntrospection(resourceServer, accessToken, {
      token_type_hint: 'access_token',
    }),
    by_client: await attempt(() => client.tokenIntrospection(rp, accessToken)),
    refresh_token: await attempt(() =>
      client.tokenIntrospection(rp, refreshedAgain.refresh_token, {
        token_type_hint: 'refresh_token',
      }),
    ),
    // a refresh token is its client's business alone
    refresh_token_by_resource_server: await client.tokenIntrospection(
      resourceServer,
      refreshedAgain.refresh_token,
      { token_type_hint: 'refresh_token' },
    ),
  }
  await client.tokenRevocation(rp, refreshedAgain.refresh_token, {
    token_type_hint: 'refresh_token',
  })
  const afterRevocation = {
    access_token: await client.tokenIntrospection(resourceServer, accessToken),
    refresh_token: await attempt(() => client.tokenIntrospection(rp, refreshedAgain.refresh_token)),
    userinfo: await attempt(() => client.fetchUserInfo(rp, accessToken, claims.sub)),
    refresh: await attempt(() => client.refreshTokenGrant(rp, refreshedAgain.refresh_token)),
    rotated_out_refresh: await attempt(() => client.refreshTokenGrant(rp, tokens.refresh_token)),
  }

  const logoutState = client.randomState()
  const endSessionUrl = client.buildEndSessionUrl(rp, {
    id_token_hint: refreshedAgain.id_token ?? tokens.id_token,
    post_logout_redirect_uri: `${base}/bye`,
    state: logoutState,
  })
  return {
    ok: true,
    client: name,
    id_token_alg: JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url')).alg,
    id_token_claims: claims,
    userinfo,
    tokens: pick(tokens),
    refreshed: { ...pick(refreshed), id_token_claims: refreshed.claims() ?? null },
    refreshed_again: { ...pick(refreshedAgain), id_token_claims: refreshedAgain.claims() ?? null },
    introspection,
    after_revocation: afterRevocation,
    end_session_url: endSessionUrl.href,
    logout_state: logoutState,
  }
}

function pick(tokens) {
  const { access_token, refresh_token, id_token, token_type, scope, expires_in } = tokens
  return { access_token, refresh_token, id_token, token_type, scope, expires_in }
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, base)
  try {
    if (url.pathname === '/login') {
      const target = await login(url)
      return send(res, 303, {}, { location: target.href })
    }
    if (url.pathname === '/cb') return send(res, 200, await callback(url))
    if (url.pathname === '/bye') {
      return send(res, 200, { path: url.pathname, state: url.searchParams.get('state') })
    }
    return send(res, 404, { ok: false, error: { message: 'not found' } })
  } catch (error) {
    return send(res, 500, { ok: false, error: describe(error) })
  }
})

server.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ listening: config.port }) + '\n')
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
