// A real OpenID provider for the end-to-end tests: oidc-provider with its development login and consent
// pages, a fresh RSA signing key each run, the people and CI jobs of the JSON file given as argument.
//   node provider.mjs config.json      (config: {port, issuer, clients, accounts, ci_claims, ttl})
// CI jobs are client_credentials clients: their JWT access tokens (resource = the audience asked for) are
// signed by this provider's key and carry the job's claims, like a CI system's ID tokens.
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: "jwk" }), kid: randomUUID(), use: "sig", alg: "RS256" };

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: { keys: [signingKey] },
  pkce: { required: () => true },
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "preferred_username"],
    groups: ["groups"],
  },
  // The claims of an ID token, not only the userinfo endpoint (as GitLab and most providers do).
  conformIdTokenClaims: false,
  scopes: ["openid", "email", "profile", "groups", "registry"],
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource, client) => ({
        scope: "registry",
        audience: resource,
        accessTokenFormat: "jwt",
        accessTokenTTL: (config.ttl || {})[client.clientId] || 300,
        jwt: { sign: { alg: "RS256" } },
      }),
    },
  },
  extraTokenClaims: (ctx, token) => (token.kind === "ClientCredentials" ? (config.ci_claims || {})[token.clientId] : undefined),
  findAccount: (ctx, id) => ({
    accountId: id,
    claims: () => ({ sub: id, ...((config.accounts || {})[id] || {}) }),
  }),
  loadExistingGrant: undefined,
});
provider.proxy = false;

provider.listen(config.port, "127.0.0.1", () => {
  console.log(`READY ${config.issuer}`);
});
