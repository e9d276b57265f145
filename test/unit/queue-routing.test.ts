import { describe, expect, it } from '@jest/globals';
import { allQueueNames, QUEUE_KINDS } from '../../src/core/jobs.js';
import { parsePreset, type PresetInput } from '../../src/core/preset.js';
import { jobRunRecord } from '../../src/workers/ladder.js';
import { jobQueueName, presetRoute, queueName, workerRoutes } from '../../src/workers/queues.js';
import type { Capabilities } from '../../src/core/capabilities.js';

function preset(hardware: PresetInput['hardware']) {
  return parsePreset({
    id: 'p',
    name: 'p',
    ladder: [{ width: 640, height: 360, fps: 30, videoBitrateKbps: 800 }],
    hardware,
  });
}

/** What a worker consumes, as queue names of one kind. */
const consumes = (...args: Parameters<typeof workerRoutes>) =>
  workerRoutes(...args).map((r) => queueName('vod', r));

describe('queue routing: preset + kind → queue', () => {
  it.each([
    [{ policy: 'never' as const }, 'vod', 'live'],
    [{ policy: 'prefer' as const }, 'vod', 'live'],
    [{ policy: 'prefer' as const, family: 'nvenc' as const }, 'vod', 'live'],
    [{ policy: 'require' as const, family: 'nvenc' as const }, 'vod-nvenc', 'live-nvenc'],
    [{ policy: 'require' as const, family: 'vaapi' as const }, 'vod-vaapi', 'live-vaapi'],
    [{ policy: 'require' as const, family: 'qsv' as const }, 'vod-qsv', 'live-qsv'],
    [{ policy: 'require' as const }, 'vod-hw', 'live-hw'],
  ])('%j → %s / %s', (hardware, vod, live) => {
    const p = preset(hardware);
    expect(jobQueueName(p, 'vod')).toBe(vod);
    expect(jobQueueName(p, 'live')).toBe(live);
  });

  it('only `require` leaves the generic queue', () => {
    expect(presetRoute(preset({ policy: 'prefer', family: 'qsv' }))).toBe('any');
    expect(presetRoute(preset({ policy: 'require', family: 'qsv' }))).toBe('qsv');
  });

  it('lists every queue of a kind, generic first, names from enums only', () => {
    expect(allQueueNames('vod')).toEqual(['vod', 'vod-nvenc', 'vod-vaapi', 'vod-qsv', 'vod-hw']);
    expect(QUEUE_KINDS.flatMap((k) => allQueueNames(k))).toHaveLength(10);
    for (const name of QUEUE_KINDS.flatMap((k) => allQueueNames(k))) expect(name).toMatch(/^[a-z-]+$/);
  });
});

describe('queue routing: worker families → queues', () => {
  it('a software worker takes the generic queue only', () => {
    expect(consumes(['x264'], 'auto')).toEqual(['vod']);
    expect(consumes([], 'auto')).toEqual(['vod']);
  });

  it('a worker with hardware takes its families’ queues and the any-hardware queue', () => {
    expect(consumes(['x264', 'nvenc'], 'auto')).toEqual(['vod', 'vod-nvenc', 'vod-hw']);
    expect(consumes(['x264', 'vaapi', 'qsv'], 'auto')).toEqual(['vod', 'vod-vaapi', 'vod-qsv', 'vod-hw']);
  });

  it('HWACCEL narrows the families a worker takes jobs for', () => {
    expect(consumes(['x264', 'nvenc', 'vaapi'], 'none')).toEqual(['vod']);
    expect(consumes(['x264', 'nvenc', 'vaapi'], 'vaapi')).toEqual(['vod', 'vod-vaapi', 'vod-hw']);
  });

  it('every queue a preset routes to is consumed by a worker with that family, and by no other', () => {
    const nvencJob = jobQueueName(preset({ policy: 'require', family: 'nvenc' }), 'vod');
    expect(consumes(['x264', 'nvenc'], 'auto')).toContain(nvencJob);
    expect(consumes(['x264', 'vaapi'], 'auto')).not.toContain(nvencJob);
    expect(consumes(['x264'], 'auto')).not.toContain(nvencJob);
  });
});

describe('jobRunRecord', () => {
  const caps = (families: Capabilities['families']) => ({ families }) as Capabilities;

  it('records a fallback from preferred hardware with its reason', () => {
    const run = jobRunRecord(preset({ policy: 'prefer', family: 'nvenc' }), {
      capabilities: caps(['x264']),
      hwaccel: 'auto',
      workerId: 'host:1',
    });
    expect(run).toMatchObject({ workerId: 'host:1', family: 'x264', hwFallback: true });
    expect(run?.reason).toMatch(/prefers nvenc/);
  });

  it('records the hardware family when the worker has it', () => {
    const run = jobRunRecord(preset({ policy: 'require', family: 'nvenc' }), {
      capabilities: caps(['x264', 'nvenc']),
      hwaccel: 'auto',
      workerId: 'host:2',
    });
    expect(run).toMatchObject({ family: 'nvenc', hwFallback: false });
    expect(run?.reason).toBeUndefined();
  });

  it('is null when the job cannot run here (the job itself fails with the reason)', () => {
    expect(
      jobRunRecord(preset({ policy: 'require', family: 'nvenc' }), {
        capabilities: caps(['x264']),
        hwaccel: 'auto',
        workerId: 'h:3',
      }),
    ).toBeNull();
  });
});
