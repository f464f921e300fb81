// node oidc-provider 9.13 as a reference point for `make bench` (loopback only).
// A client_credentials client; access tokens are ES256-signed JWTs through resource
// indicators. WORKERS processes (node:cluster) share one port, as granian's workers do.
// Env: PORT, WORKERS (default 2), CLIENT_ID, CLIENT_SECRET.
import cluster from 'node:cluster';
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const workers = Number(process.env.WORKERS || 2);

if (cluster.isPrimary) {
  // One key set for every worker: a token signed by one must verify at the other.
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const jwks = JSON.stringify({
    keys: [{ ...rsa, kid: 'rs256', alg: 'RS256', use: 'sig' }, { ...ec, kid: 'es256', alg: 'ES256', use: 'sig' }],
  });
  let ready = 0;
  for (let i = 0; i < workers; i += 1) {
    cluster.fork({ BENCH_JWKS: jwks }).on('message', (m) => {
      if (m === 'listening' && ++ready === workers) console.log(`listening on 127.0.0.1:${port}`);
    });
  }
  const stop = () => {
    for (const w of Object.values(cluster.workers)) w.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [
      {
        client_id: process.env.CLIENT_ID,
        client_secret: process.env.CLIENT_SECRET,
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: 'api',
      },
    ],
    jwks: JSON.parse(process.env.BENCH_JWKS),
    scopes: ['openid', 'api'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:bench:api',
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'api',
          audience: 'urn:bench:api',
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
  });
  provider.listen(port, '127.0.0.1', () => process.send('listening'));
}
