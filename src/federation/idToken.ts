// Verifying a CI job's OIDC ID token with jose: signature against its issuer's published keys,
// RS256 or ES256 only, `iss` a trusted issuer, `exp` in the future and `nbf`/`iat` not in the
// future (60 s leeway), a `jti` present. Every refusal is UNAUTHENTICATED with the reason in
// words; the token itself never appears in a message.
import { type JWTPayload, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import type { FederationConfig } from '../env';
import { issuerUnavailable, unauthenticated } from '../errors';
import { describeFetchFailure, type IssuerKeys } from './issuerKeys';

export const ALLOWED_ALGORITHMS = ['RS256', 'ES256'];
export const CLOCK_LEEWAY_SECONDS = 60;
/** No CI platform's ID token comes near this (GitHub's and GitLab's are 1 to 3 KB). */
export const MAX_ID_TOKEN_LENGTH = 16_384;
const MAX_JTI_LENGTH = 255;

export interface VerifiedIdToken {
  issuer: string;
  subject: string | null;
  audiences: string[];
  jti: string;
  /** When the token expires (seconds since the epoch). */
  expiresAt: number;
  claims: JWTPayload;
}

/** A claim's value for a message: quoted, shortened, and never more than a line. */
export const shown = (value: unknown) => JSON.stringify(String(value).slice(0, 200));

const refused = (reason: string) => unauthenticated(`The ID token was refused: ${reason}`);

export async function verifyIdToken(idToken: string, config: FederationConfig, keys: IssuerKeys): Promise<VerifiedIdToken> {
  if (idToken.length > MAX_ID_TOKEN_LENGTH) throw refused(`it is longer than ${MAX_ID_TOKEN_LENGTH} characters.`);
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(idToken);
  } catch {
    throw refused('it is not a well-formed JWT.');
  }
  // Which keys to check it against: read before verifying, and trusted only if the issuer is.
  const issuer = unverified.iss;
  if (typeof issuer !== 'string' || !config.issuers.includes(issuer)) {
    throw refused(`its issuer (iss ${shown(issuer)}) is not trusted by this gateway (FEDERATION_ISSUERS).`);
  }
  // jose refuses other algorithms too; refusing them here spares the issuer a pointless fetch.
  const algorithm = algorithmOf(idToken);
  if (typeof algorithm !== 'string' || !ALLOWED_ALGORITHMS.includes(algorithm)) {
    throw refused(`its algorithm (alg ${shown(algorithm)}) is not accepted: only ${ALLOWED_ALGORITHMS.join(' and ')}.`);
  }
  const keySet = await keys.keySetOf(issuer);
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(idToken, keySet, {
      issuer,
      algorithms: ALLOWED_ALGORITHMS,
      clockTolerance: CLOCK_LEEWAY_SECONDS,
      requiredClaims: ['exp', 'iat', 'jti'],
    }));
  } catch (error) {
    throw verificationFailure(error, idToken, issuer, config);
  }
  // jose checks iat only against a maximum age, which ID tokens need not have: not in the future.
  if (typeof claims.iat !== 'number' || claims.iat > Date.now() / 1000 + CLOCK_LEEWAY_SECONDS) {
    throw refused('it was issued in the future (iat).');
  }
  if (typeof claims.jti !== 'string' || claims.jti.length === 0 || claims.jti.length > MAX_JTI_LENGTH) {
    throw refused(`its jti claim must be a string of 1 to ${MAX_JTI_LENGTH} characters.`);
  }
  const audiences = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud.filter((a) => typeof a === 'string') : [];
  return {
    issuer,
    subject: typeof claims.sub === 'string' ? claims.sub : null,
    audiences,
    jti: claims.jti,
    expiresAt: claims.exp!,
    claims,
  };
}

/** jose's error (by its code: it may come from another realm under Jest) as a refusal in words. */
function verificationFailure(error: unknown, idToken: string, issuer: string, config: FederationConfig) {
  const code = (error as { code?: unknown })?.code;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return refused('it has expired (exp).');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const claim = (error as { claim?: string }).claim;
      if (claim === 'nbf') return refused('it is not valid yet (nbf is in the future).');
      return refused(`its ${claim ?? 'claims'} claim is missing or invalid.`);
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return refused(`its algorithm (alg ${shown(algorithmOf(idToken))}) is not accepted: only ${ALLOWED_ALGORITHMS.join(' and ')}.`);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return refused('bad signature: it does not verify with the issuer\'s key.');
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return refused(`it is signed with an unknown key (kid ${shown(keyIdOf(idToken))}): the issuer's published keys do not include it.`);
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return refused('it is not a well-formed JWT.');
    case 'ERR_JWKS_INVALID':
    case 'ERR_JWK_INVALID':
      return issuerUnavailable(issuer, 'its published keys are not a valid JSON Web Key Set');
    case 'ERR_JOSE_GENERIC':
      return issuerUnavailable(issuer, (error as Error).message);
    default:
      // Anything else comes from fetching the key set: the network, a timeout, an oversized answer.
      return issuerUnavailable(issuer, describeFetchFailure(error, config.fetchTimeoutMs));
  }
}

function algorithmOf(idToken: string): unknown {
  try {
    return decodeProtectedHeader(idToken).alg;
  } catch {
    return undefined;
  }
}

function keyIdOf(idToken: string): unknown {
  try {
    return decodeProtectedHeader(idToken).kid;
  } catch {
    return undefined;
  }
}
