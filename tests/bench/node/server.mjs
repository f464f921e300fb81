// node oidc-provider 9.13 as a reference point for `make bench` (loopback only).
// A client_credentials client (access tokens: ES256-signed JWTs through resource
// indicators, or opaque ones for resource urn:bench:opaque, since oidc-provider refuses
// to introspect JWTs), and an authorization-code client with rotating refresh tokens and
// ES256 ID tokens. WORKERS processes (node:cluster) share one port, as granian's workers
// do; they share one store in the primary, reached over IPC, as ours share Redis (the
// default store lives in each process, so a token issued by one worker would be unknown
// to the other). Sign-ins finish without a page: /bench-interaction/:uid logs in a fixed
// account and grants 'openid offline_access' (and the API's scope) at once.
// Env: PORT, WORKERS (default 2), CLIENT_ID, CLIENT_SECRET; the web client's are fixed
// here and in tests/bench/node_signin.py.
import cluster from 'node:cluster';
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

const port = Number(process.env.PORT);
const workers = Number(process.env.WORKERS || 2);
const API = 'urn:bench:api';
const OPAQUE = 'urn:bench:opaque';
const WEB = {
  client_id: 'bench-node-web',
  client_secret: 'bench-node-web-secret-0123456789abcdefghijkl',
  redirect_uri: 'http://127.0.0.1:1/cb', // never followed: the code is read off Location
};
const ADAPTER_OPS = ['upsert', 'find', 'findByUid', 'findByUserCode', 'consume', 'destroy',
  'revokeByGrantId'];

if (cluster.isPrimary) {
  // One key set for every worker: a token signed by one must verify at the other.
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const jwks = JSON.stringify({
    keys: [{ ...rsa, kid: 'rs256', alg: 'RS256', use: 'sig' }, { ...ec, kid: 'es256', alg: 'ES256', use: 'sig' }],
  });
  // oidc-provider's own in-memory adapter over one store, large enough not to evict
  // live refresh tokens during a run (its default holds 1000 entries).
  const store = new LRU({ maxSize: 1_000_000 });
  const adapters = new Map();
  const adapterFor = (model) => {
    if (!adapters.has(model)) adapters.set(model, new MemoryAdapter(model, store));
    return adapters.get(model);
  };
  let ready = 0;
  for (let i = 0; i < workers; i += 1) {
    const worker = cluster.fork({ BENCH_JWKS: jwks });
    worker.on('message', async (m) => {
      if (m === 'listening') {
        if (++ready === workers) console.log(`listening on 127.0.0.1:${port}`);
        return;
      }
      try {
        const result = await adapterFor(m.model)[m.op](...m.args);
        worker.send({ id: m.id, result });
      } catch (err) {
        worker.send({ id: m.id, error: String(err) });
      }
    });
  }
  const stop = () => {
    for (const w of Object.values(cluster.workers)) w.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const pending = new Map();
  let seq = 0;
  process.on('message', (m) => {
    const call = pending.get(m.id);
    if (!call) return;
    pending.delete(m.id);
    if (m.error) call.reject(new Error(m.error));
    else call.resolve(m.result);
  });
  class SharedAdapter {
    constructor(model) {
      this.model = model;
    }
  }
  for (const op of ADAPTER_OPS) {
    SharedAdapter.prototype[op] = function call(...args) {
      seq += 1;
      const id = seq;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        process.send({ id, model: this.model, op, args });
      });
    };
  }

  const provider = new Provider(`http://127.0.0.1:${port}`, {
    adapter: SharedAdapter,
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
      {
        client_id: WEB.client_id,
        client_secret: WEB.client_secret,
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: [WEB.redirect_uri],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
        scope: 'openid offline_access',
      },
    ],
    jwks: JSON.parse(process.env.BENCH_JWKS),
    scopes: ['openid', 'offline_access', 'api'],
    findAccount: (ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
    issueRefreshToken: (ctx, client) => client.clientId === WEB.client_id,
    rotateRefreshToken: true,
    interactions: { url: (ctx, interaction) => `/bench-interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => API,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => ({
          scope: 'api',
          audience: resource,
          accessTokenTTL: 600,
          ...(resource === OPAQUE
            ? { accessTokenFormat: 'opaque' }
            : { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
        }),
      },
    },
  });

  provider.use(async (ctx, next) => {
    const found = /^\/bench-interaction\/[\w-]+$/.test(ctx.path);
    if (!found || ctx.method !== 'GET') return next();
    const { params } = await provider.interactionDetails(ctx.req, ctx.res);
    const accountId = 'bench-user';
    const grant = new provider.Grant({ accountId, clientId: params.client_id });
    grant.addOIDCScope('openid offline_access');
    grant.addResourceScope(API, 'api');
    const grantId = await grant.save();
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, {
      login: { accountId },
      consent: { grantId },
    }));
    return undefined;
  });

  provider.listen(port, '127.0.0.1', () => process.send('listening'));
}
