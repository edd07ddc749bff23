import { describe, expect, it } from 'vitest';
import type pg from 'pg';
import { bearerTokenOf, checkServingToken, requestAuthenticator } from '../../../serving/auth';
import { ServingHttpError } from '../../../serving/errors';

const token = 'a-serving-token-of-some-length';

function refusal(check: () => void): ServingHttpError {
  try {
    check();
  } catch (error) {
    expect(error).toBeInstanceOf(ServingHttpError);
    return error as ServingHttpError;
  }
  throw new Error('accepted');
}

// A presented token that is not a service token's form is judged without the token store.
const noStore = {
  query: () => Promise.reject(new Error('the token store was read')),
} as unknown as pg.Pool;
const request = (authorization: string | undefined) => ({
  method: 'POST',
  route: '/v1/models/:name/predict',
  authorization,
});

describe('the bearer token', () => {
  it('accepts the configured token, with any case of "Bearer"', () => {
    const authenticate = requestAuthenticator({ token, pool: noStore });
    // Checked at once, without a promise: the request path's common case.
    expect(authenticate(request(`Bearer ${token}`))).toBeUndefined();
    expect(authenticate(request(`bearer ${token}`))).toBeUndefined();
  });

  it('answers 401 for a missing, malformed or wrong token, saying which', async () => {
    expect(refusal(() => bearerTokenOf(undefined))).toMatchObject({ statusCode: 401, code: 'unauthorized' });
    expect(refusal(() => bearerTokenOf(undefined)).message).toMatch(/No bearer token: send the header/);
    expect(refusal(() => bearerTokenOf(token)).message).toMatch(/is not "Bearer <token>"/);
    expect(refusal(() => bearerTokenOf('Basic dXNlcjpwYXNz')).message).toMatch(/is not "Bearer <token>"/);
    const authenticate = requestAuthenticator({ token, pool: noStore });
    for (const wrong of [`Bearer ${token}x`, 'Bearer short']) {
      const error = await Promise.resolve(authenticate(request(wrong))).then(
        () => undefined,
        (refused: unknown) => refused,
      );
      expect(error).toBeInstanceOf(ServingHttpError);
      expect(error).toMatchObject({ statusCode: 401, code: 'unauthorized' });
      expect((error as Error).message).toMatch(/bearer token is not accepted/);
    }
  });

  it('refuses a short or blank configured token, saying how to make one', () => {
    expect(() => checkServingToken('short')).toThrow(/at least 16 characters.*openssl rand -hex 32/);
    expect(() => checkServingToken('has spaces in the middle of it')).toThrow(/without spaces/);
    expect(() => checkServingToken(undefined)).toThrow(/token must be/);
    expect(checkServingToken(token)).toBe(token);
  });
});
