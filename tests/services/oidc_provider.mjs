// A real OpenID Provider for the single sign-on tests: npm's certified `oidc-provider`
// (path in OIDC_PROVIDER) on loopback, with its development sign-in pages (any login
// name, any password), one confidential client for hbd, and three people:
//   ada  (groups hbd-admins, staff)   olga (groups ops, staff)   moe (no groups)
//
// Usage: node oidc_provider.mjs REDIRECT_URI CLIENT_SECRET
// Listens on a free loopback port and prints {"issuer": ...} once it does.
//
// For the refusal tests the next token response can be spoiled, once:
//   POST /_test/spoil?how=tamper    the ID token's payload changed, its signature kept
//   POST /_test/spoil?how=audience  re-signed with the provider's own key for another client
//   POST /_test/spoil?how=expired   re-signed with the provider's own key, expired an hour ago
// and GET /_test/last tells what the last token response carried.
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

const [redirectUri, clientSecret] = process.argv.slice(2);
const { default: Provider } = await import(pathToFileURL(process.env.OIDC_PROVIDER).href);
const jose = await import(pathToFileURL(process.env.JOSE).href);

const server = createServer();
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
// Named `localhost`, another site than hbd at 127.0.0.1, as a real provider is: the
// browser comes back from it by a cross-site redirect.
const issuer = `http://localhost:${server.address().port}`;
const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };

const people = {
  ada: { name: 'Ada Admin', email: 'ada@example.org', groups: ['hbd-admins', 'staff'] },
  olga: { name: 'Olga Ops', email: 'olga@example.org', groups: ['ops', 'staff'] },
  moe: { name: 'Moe', email: 'moe@example.org', groups: [] },
};

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'hbd',
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: ['hbd-test-cookie-key'] },
  scopes: ['openid', 'profile', 'email', 'groups'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
  },
  pkce: { required: () => true },
  async findAccount(ctx, id) {
    const who = people[id] ?? { name: id, email: `${id}@example.org`, groups: [] };
    return {
      accountId: id,
      async claims() {
        return {
          sub: `sub-${id}`,
          preferred_username: id,
          name: who.name,
          email: who.email,
          email_verified: true,
          groups: who.groups,
        };
      },
    };
  },
  // First-party client: the grant is made at once, no consent page.
  async loadExistingGrant(ctx) {
    const id = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (id) return ctx.oidc.provider.Grant.find(id);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile email groups');
    await grant.save();
    return grant;
  },
});

let spoil = null;
let last = {};

async function resign(idToken, change) {
  const claims = jose.decodeJwt(idToken);
  change(claims);
  return new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'JWT' })
    .sign(privateKey);
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/_test/spoil' && ctx.method === 'POST') {
    spoil = ctx.query.how;
    ctx.body = { spoil };
    return;
  }
  if (ctx.path === '/_test/last') {
    ctx.body = last;
    return;
  }
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && ctx.body?.id_token) {
    const how = spoil;
    spoil = null;
    const token = ctx.body.id_token;
    if (how === 'tamper') {
      const [head, payload, signature] = token.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url'));
      claims.preferred_username = 'ada';
      claims.groups = ['hbd-admins'];
      const changed = Buffer.from(JSON.stringify(claims)).toString('base64url');
      ctx.body = { ...ctx.body, id_token: `${head}.${changed}.${signature}` };
    } else if (how === 'audience') {
      ctx.body = { ...ctx.body, id_token: await resign(token, (c) => { c.aud = 'another-client'; }) };
    } else if (how === 'expired') {
      const now = Math.floor(Date.now() / 1000);
      ctx.body = {
        ...ctx.body,
        id_token: await resign(token, (c) => { c.iat = now - 7200; c.exp = now - 3600; }),
      };
    }
    last = { spoiled: how ?? null };
  }
});

server.on('request', provider.callback());
console.log(JSON.stringify({ issuer }));
