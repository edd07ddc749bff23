import { describe, expect, it } from 'vitest';
import { bearerAuthenticator, checkServingToken } from '../../../serving/auth';
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

describe('the bearer token', () => {
  it('accepts the token, with any case of "Bearer"', () => {
    const authenticate = bearerAuthenticator(token);
    expect(() => authenticate(`Bearer ${token}`)).not.toThrow();
    expect(() => authenticate(`bearer ${token}`)).not.toThrow();
  });

  it('answers 401 for a missing, malformed or wrong token, saying which', () => {
    const authenticate = bearerAuthenticator(token);
    expect(refusal(() => authenticate(undefined))).toMatchObject({ statusCode: 401, code: 'unauthorized' });
    expect(refusal(() => authenticate(undefined)).message).toMatch(/No bearer token: send the header/);
    expect(refusal(() => authenticate(token)).message).toMatch(/is not "Bearer <token>"/);
    expect(refusal(() => authenticate('Basic dXNlcjpwYXNz')).message).toMatch(/is not "Bearer <token>"/);
    expect(refusal(() => authenticate(`Bearer ${token}x`)).message).toMatch(/is not the serving token/);
    expect(refusal(() => authenticate('Bearer short')).message).toMatch(/is not the serving token/);
  });

  it('refuses a short or blank configured token, saying how to make one', () => {
    expect(() => checkServingToken('short')).toThrow(/at least 16 characters.*openssl rand -hex 32/);
    expect(() => checkServingToken('has spaces in the middle of it')).toThrow(/without spaces/);
    expect(() => checkServingToken(undefined)).toThrow(/token must be/);
    expect(checkServingToken(token)).toBe(token);
  });
});
