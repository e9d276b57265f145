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
    [
      { TRUST_PROXY: 'yes please' },
      /^TRUST_PROXY: must be false, a number of proxy hops from 1 to 10, or comma/,
    ],
    [{ TRUST_PROXY: '11' }, /^TRUST_PROXY: /],
    [{ TRUST_PROXY: '10.0.0.1, proxy.example' }, /^TRUST_PROXY: /],
    [{ MAX_HELD_PER_CLIENT: '0' }, /^MAX_HELD_PER_CLIENT: must be a whole number from 1 to/],
    [{ MAX_PUBLISHES_PER_CLIENT: 'many' }, /^MAX_PUBLISHES_PER_CLIENT: /],
    [{ MAX_VIEWERS_PER_CLIENT: '-1' }, /^MAX_VIEWERS_PER_CLIENT: /],
    [{ AUTH_FAILURES_PER_MINUTE: '0' }, /^AUTH_FAILURES_PER_MINUTE: /],
    [{ MIN_FREE_DISK_MB: '1.5' }, /^MIN_FREE_DISK_MB: must be a whole number/],
    [{ MAX_USER_PRESETS: 'x' }, /^MAX_USER_PRESETS: /],
    [{ MAX_PRESET_COST: '0' }, /^MAX_PRESET_COST: /],
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

  it('reads the per-client limits, the disk floor and the preset limits, with their defaults', () => {
    expect(loadConfig({})).toMatchObject({
      trustProxy: null,
      maxHeldPerClient: 500,
      maxPublishesPerClient: 16,
      maxViewersPerClient: 50,
      authFailuresPerMinute: 10,
      minFreeDiskBytes: 1024 * 1024 * 1024,
      maxUserPresets: 200,
      maxPresetCost: 1000,
    });
    const c = loadConfig({
      MAX_HELD_PER_CLIENT: '20',
      MAX_PUBLISHES_PER_CLIENT: '2',
      MAX_VIEWERS_PER_CLIENT: '3',
      AUTH_FAILURES_PER_MINUTE: '5',
      MIN_FREE_DISK_MB: '0',
      MAX_USER_PRESETS: '0',
      MAX_PRESET_COST: '50',
    });
    expect(c).toMatchObject({
      maxHeldPerClient: 20,
      maxPublishesPerClient: 2,
      maxViewersPerClient: 3,
      authFailuresPerMinute: 5,
      minFreeDiskBytes: 0,
      maxUserPresets: 0,
      maxPresetCost: 50,
    });
  });

  it("reads TRUST_PROXY as off, a number of hops, or the proxies' addresses", () => {
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBeNull();
    expect(loadConfig({ TRUST_PROXY: '0' }).trustProxy).toBeNull();
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toEqual({ hops: 2 });
    expect(loadConfig({ TRUST_PROXY: '10.0.0.1, ::1' }).trustProxy).toEqual({ proxies: ['10.0.0.1', '::1'] });
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', REDIS_URL: '' }).port).toBe(8080);
  });
});
