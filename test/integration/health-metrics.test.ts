import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PrivateRedis } from '../../src/core/redis-server.js';
import { makeTestClip } from '../helpers/media.js';
import { startTestService } from '../helpers/service.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

describe('health, readiness, capabilities and metrics', () => {
  let t: Started;
  beforeAll(async () => {
    t = await startTestService();
  }, 30_000);
  afterAll(async () => t?.close());

  it('is live and ready with Redis and ffmpeg usable', async () => {
    expect((await fetch(`${t.service.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${t.service.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { redis: 'ok', ffmpeg: 'ok' } });
  });

  it('shows what the ffmpeg probe found', async () => {
    const caps = (await (await fetch(`${t.service.url}/api/capabilities`)).json()) as Record<string, unknown>;
    expect(caps.ffmpegVersion).toEqual(expect.any(String));
    expect(caps.families).toEqual(['x264']);
    expect(caps.encoders).toEqual(expect.arrayContaining(['libx264', 'aac']));
  });

  it('exports Prometheus metrics: HTTP by route and status, jobs by queue and state, Redis state', async () => {
    await fetch(`${t.service.url}/api/presets`);
    await fetch(`${t.service.url}/api/presets/nope`);
    const res = await fetch(`${t.service.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(
      /whipcast_http_requests_total\{method="GET",route="\/api\/presets\/",status="200"\} \d+/,
    );
    expect(text).toMatch(
      /whipcast_http_requests_total\{method="GET",route="\/api\/presets\/:id",status="404"\} \d+/,
    );
    expect(text).toMatch(/whipcast_jobs\{queue="vod",state="waiting"\} 0/);
    expect(text).toMatch(/whipcast_redis_up 1/);
    expect(text).toContain('whipcast_ffmpeg_speed');
  });
});

describe('when Redis goes away', () => {
  let redis: PrivateRedis;
  let t: Started;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    t = await startTestService({ REDIS_URL: redis.url });
    await makeTestClip(path.join(t.dir, 'media'), {
      seconds: 1,
      width: 320,
      height: 240,
      fps: 30,
      audio: false,
      name: 'c.mp4',
    });
  }, 30_000);
  afterAll(async () => {
    await t?.close();
    await redis?.close();
  });

  it('answers an enqueue with 503 at once instead of hanging, and /readyz fails', async () => {
    await redis.close();
    const started = Date.now();
    const res = await fetch(`${t.service.url}/api/vod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'c.mp4' }),
    });
    const elapsed = Date.now() - started;
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unavailable');
    // Generous bound: the point is "does not hang", the 1 s deadline is in the code.
    expect(elapsed).toBeLessThan(5000);
    const ready = await fetch(`${t.service.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { redis: string } }).checks.redis).toMatch(/^unreachable: /);
    const metrics = await (await fetch(`${t.service.url}/metrics`)).text();
    expect(metrics).toMatch(/whipcast_redis_up 0/);
  });
});
