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
    [{ ICE_PORT_RANGE: '40000' }, /^ICE_PORT_RANGE: must be MIN-MAX/],
    [{ ICE_PORT_RANGE: '40100-40000' }, /^ICE_PORT_RANGE: must be MIN-MAX with 1024 <= MIN < MAX <= 65535/],
    [{ ICE_PORT_RANGE: '80-90' }, /^ICE_PORT_RANGE: /],
    [{ ICE_PUBLIC_ADDRESSES: 'example.com' }, /^ICE_PUBLIC_ADDRESSES: must be comma-separated IPv4 or IPv6/],
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

  it('reads the ICE port range and announced addresses', () => {
    const c = loadConfig({
      ICE_PORT_RANGE: '40000-40199',
      ICE_PUBLIC_ADDRESSES: '198.51.100.7, 2001:db8::7',
    });
    expect(c.icePortRange).toEqual([40000, 40199]);
    expect(c.icePublicAddresses).toEqual(['198.51.100.7', '2001:db8::7']);
    expect(loadConfig({}).icePublicAddresses).toEqual([]);
    expect(loadConfig({}).icePortRange).toBeUndefined();
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', REDIS_URL: '' }).port).toBe(8080);
  });
});
