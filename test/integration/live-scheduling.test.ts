import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobView } from '../../src/core/jobs.js';
import type { StreamView } from '../../src/core/streams.js';
import { sdpFixture } from '../helpers/sdp-fixtures.js';
import { waitFor } from '../helpers/service-process.js';
import { startTestService } from '../helpers/service.js';
import { WhipTestClient } from '../helpers/whip-client.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

const getJson = async <T>(url: string): Promise<{ status: number; body: T }> => {
  const r = await fetch(url);
  return { status: r.status, body: (await r.json()) as T };
};

describe('live scheduling: queued at the first frame, waiting shown, withdrawn at the end', () => {
  let t: Started;
  const clients: WhipTestClient[] = [];

  beforeAll(async () => {
    // No worker in this process, and none elsewhere: every live job waits.
    t = await startTestService({ ROLES: 'api,ingest' });
  }, 30_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await t?.close();
  });

  it('an offer that never connects queues nothing', async () => {
    const base = t.service.url;
    const r = await fetch(`${base}/whip/silent`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp' },
      body: sdpFixture('chromium'), // its candidates lead nowhere
    });
    expect(r.status).toBe(201);
    await new Promise((res) => setTimeout(res, 1500));
    expect((await getJson<StreamView>(`${base}/api/streams/silent`)).body.state).toBe('live');
    expect((await fetch(`${base}/api/jobs/silent`)).status).toBe(404);
    await fetch(new URL(r.headers.get('location')!, base), { method: 'DELETE' });
  });

  it('a stream no worker takes is shown waiting for a worker, and its job goes when it ends', async () => {
    const base = t.service.url;
    const client = await WhipTestClient.publish({
      url: `${base}/whip/waits?preset=light`,
      width: 320,
      height: 180,
    });
    clients.push(client);
    const view = await waitFor(
      'the stream to show its transcode waiting',
      async () => {
        const s = (await getJson<StreamView>(`${base}/api/streams/waits`)).body;
        return s.transcode?.state === 'waiting' ? s : null;
      },
      15_000,
      100,
    );
    expect(view.transcode).toEqual({
      state: 'waiting',
      since: expect.any(String),
      reason: 'waiting for a worker',
    });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^whipcast_live_waiting_for_worker 1$/m);
    expect((await client.delete()).status).toBe(200);
    await waitFor(
      'the waiting job to be withdrawn',
      async () => (await fetch(`${base}/api/jobs/waits`)).status === 404,
      10_000,
      100,
    );
  });
});

describe('live scheduling with a worker', () => {
  let t: Started;
  const clients: WhipTestClient[] = [];

  beforeAll(async () => {
    t = await startTestService();
  }, 30_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await t?.close();
  });

  const job = async (id: string) => (await getJson<JobView>(`${t.service.url}/api/jobs/${id}`)).body;

  it('runs two streams at once, and a re-publish with another preset switches its job', async () => {
    const base = t.service.url;
    const a = await WhipTestClient.publish({
      url: `${base}/whip/sched-a?preset=light`,
      width: 640,
      height: 360,
      seconds: 30,
    });
    const b = await WhipTestClient.publish({
      url: `${base}/whip/sched-b?preset=light`,
      width: 320,
      height: 180,
      seconds: 30,
    });
    clients.push(a, b);
    await waitFor(
      'both live jobs running on the one worker',
      async () => (await job('sched-a')).state === 'active' && (await job('sched-b')).state === 'active',
      30_000,
      200,
    );
    await waitFor('the plan of a', async () => (await job('sched-a')).ladder, 20_000, 100);
    expect((await job('sched-a')).ladder?.rungs.map((r) => `${r.name} ${r.width}x${r.height}`)).toEqual([
      '360p 640x360',
      '240p 426x240',
    ]);
    // The source of b is smaller than the light ladder: one rung at its size remains.
    await waitFor('the plan of b', async () => (await job('sched-b')).ladder, 20_000, 100);
    expect((await job('sched-b')).ladder).toMatchObject({
      rungs: [{ name: '240p', width: 320, height: 180 }],
      dropped: [{ name: '360p' }],
    });

    // The same stream published again (a takeover) with the low-latency preset.
    const a2 = await WhipTestClient.publish({
      url: `${base}/whip/sched-a?preset=low-latency`,
      width: 640,
      height: 360,
      seconds: 30,
    });
    clients.push(a2);
    const switched = await waitFor(
      'the job to take the new preset',
      async () => {
        const j = await job('sched-a');
        return j.presetId === 'low-latency' && j.ladder?.rungs.length === 1 ? j : null;
      },
      30_000,
      200,
    );
    expect(switched.ladder).toMatchObject({ rungs: [{ name: '360p', width: 640, height: 360 }] });
    expect(switched.ladder?.dropped.map((d) => d.name)).toEqual(['720p', '480p']);
    const stream = (await getJson<StreamView>(`${base}/api/streams/sched-a`)).body;
    expect(stream.ladder?.map((r) => r.name)).toEqual(['360p']);
    expect(stream.transcode?.state).toBe('running');
  }, 120_000);
});
