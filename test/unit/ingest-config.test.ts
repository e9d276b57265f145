import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../src/core/config.js';

describe('ingest configuration', () => {
  it('defaults to takeover and a 10 s media timeout', () => {
    expect(loadConfig({})).toMatchObject({ takeover: 'takeover', mediaTimeoutMs: 10_000 });
  });

  it('reads TAKEOVER and MEDIA_TIMEOUT_MS', () => {
    expect(loadConfig({ TAKEOVER: 'reject', MEDIA_TIMEOUT_MS: '2500' })).toMatchObject({
      takeover: 'reject',
      mediaTimeoutMs: 2500,
    });
  });

  it('names the variable of a bad value', () => {
    expect(() => loadConfig({ TAKEOVER: 'steal' })).toThrow(
      new ConfigError('TAKEOVER: must be one of takeover, reject (got "steal")'),
    );
    expect(() => loadConfig({ MEDIA_TIMEOUT_MS: '10' })).toThrow(
      /^MEDIA_TIMEOUT_MS: must be a whole number from 500/,
    );
  });
});
