import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from '../../src/core/config.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig({}, { cwd: '/srv/app' });
    expect(c.port).toBe(8080);
    expect(c.host).toBe('127.0.0.1');
    expect(c.publicUrl).toBe('http://127.0.0.1:8080');
    expect([...c.roles]).toEqual(['api', 'ingest', 'worker']);
    expect(c.dataDir).toBe('/srv/app/data');
    expect(c.mediaDir).toBe('/srv/app/data/media');
    expect(c.hwaccel).toBe('auto');
    expect(c.storage).toBe('local');
    expect(c.redisUrl).toBeUndefined();
  });

  it('gives the worker process the worker role only', () => {
    expect([...loadConfig({}, { workerOnly: true }).roles]).toEqual(['worker']);
  });

  it.each([
    [{ PORT: 'abc' }, /^PORT: must be a whole number from 0 to 65535 \(got "abc"\)$/],
    [{ PORT: '70000' }, /^PORT: /],
    [{ HWACCEL: 'cuda' }, /^HWACCEL: must be one of auto, none, nvenc, vaapi, qsv/],
    [{ ROLES: 'api,transcoder' }, /^ROLES: /],
    [{ REDIS_URL: 'http://x' }, /^REDIS_URL: /],
    [{ STORAGE: 's3' }, /^S3_BUCKET: must be set when STORAGE=s3$/],
    [{ ICE_SERVERS: 'http://evil' }, /^ICE_SERVERS: /],
    [{ PUBLISH_TOKEN: 'short' }, /^PUBLISH_TOKEN: must be at least 16 characters$/],
  ])('rejects %j with one line naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('never echoes a token value', () => {
    try {
      loadConfig({ API_TOKEN: 'tiny-secret' });
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect(String(e)).not.toContain('tiny-secret');
    }
  });

  it('refuses a non-loopback HOST without both tokens', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/^HOST: .*PUBLISH_TOKEN and API_TOKEN/);
    expect(() => loadConfig({ HOST: '0.0.0.0', PUBLISH_TOKEN: 'p'.repeat(16) })).toThrow(/^HOST:/);
    const c = loadConfig({ HOST: '0.0.0.0', PUBLISH_TOKEN: 'p'.repeat(16), API_TOKEN: 'a'.repeat(16) });
    expect(c.host).toBe('0.0.0.0');
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', REDIS_URL: '' }).port).toBe(8080);
  });
});
