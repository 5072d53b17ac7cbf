// node-oidc-provider as a loopback-only test peer for revspec: static clients that authenticate
// with private_key_jwt (ES256, the public fixture key targets/keys/client-jwt.*) and
// client_secret_jwt, revocation and introspection enabled, refresh-token rotation, and a
// `password` grant (registered here: oidc-provider has none) so revspec mints access and refresh
// tokens without a browser. Every secret here is a public test fixture; it listens on
// 127.0.0.1 only.
//
// Environment: OP_PORT [8766], OP_SECJWT_SECRET, OP_BASIC_SECRET, OP_USER_PASSWORD (run.sh sets
// the defaults).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Provider, { errors } from 'oidc-provider';

const here = path.dirname(fileURLToPath(import.meta.url));
const keys = path.join(here, '..', '..', '..', 'targets', 'keys');
const PORT = Number(process.env.OP_PORT || 8766);
const ISSUER = `http://127.0.0.1:${PORT}`;
const USERS = { alice: process.env.OP_USER_PASSWORD || 'alice-password' };
const grants = ['password', 'refresh_token'];
const noBrowser = { response_types: [], redirect_uris: [] };
const scopes = ['openid', 'offline_access'];

const provider = new Provider(ISSUER, {
  clients: [
    {
      client_id: 'pkjwt',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: JSON.parse(fs.readFileSync(path.join(keys, 'client-jwt.jwks.json'), 'utf8')),
      grant_types: grants,
      ...noBrowser,
    },
    {
      client_id: 'secjwt',
      client_secret: process.env.OP_SECJWT_SECRET || 'secjwt-secret-of-32-bytes-or-more!!',
      token_endpoint_auth_method: 'client_secret_jwt',
      grant_types: grants,
      ...noBrowser,
    },
    {
      client_id: 'basic',
      client_secret: process.env.OP_BASIC_SECRET || 'basic-secret-of-the-test-peer',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: grants,
      ...noBrowser,
    },
  ],
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'],
  features: {
    revocation: { enabled: true },
    introspection: { enabled: true },
    devInteractions: { enabled: false },
  },
  scopes,
  rotateRefreshToken: true,
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  findAccount: async (ctx, sub) => (USERS[sub] ? { accountId: sub, claims: async () => ({ sub }) } : undefined),
  ttl: { AccessToken: 600, RefreshToken: 3600, Grant: 3600 },
});

// The resource owner password grant, for tests only: an access and a refresh token per grant.
provider.registerGrantType('password', async (ctx) => {
  const { client, params } = ctx.oidc;
  if (!Object.hasOwn(USERS, params.username) || USERS[params.username] !== params.password) {
    throw new errors.InvalidGrant('invalid resource owner credentials');
  }
  const accountId = params.username;
  const scope = scopes.join(' ');
  const grant = new provider.Grant({ clientId: client.clientId, accountId });
  grant.addOIDCScope(scope);
  const grantId = await grant.save();
  const at = new provider.AccessToken({ accountId, client, grantId, scope, gty: 'password' });
  const rt = new provider.RefreshToken({ accountId, client, grantId, scope, gty: 'password', rotations: 0 });
  ctx.body = {
    access_token: await at.save(),
    token_type: 'Bearer',
    expires_in: at.expiration,
    refresh_token: await rt.save(),
    scope,
  };
}, ['username', 'password', 'scope']);

provider.listen(PORT, '127.0.0.1', () => {
  console.log(`oidc-provider test peer at ${ISSUER}`);
});
