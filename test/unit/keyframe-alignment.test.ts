import { describe, expect, it } from '@jest/globals';
import { checkKeyframeAlignment, KeyframeAlignment } from '../../src/live/relay/keyframe-alignment.js';

const layer = (name: string, keyframesUs: number[], lastUs: number) => ({ name, keyframesUs, lastUs });

describe('checkKeyframeAlignment', () => {
  it('aligned: every key frame instant is in every layer, within the tolerance', () => {
    const v = checkKeyframeAlignment([
      layer('layer h', [0, 2_000_000, 4_000_000], 4_500_000),
      layer('layer m', [3_000, 2_002_000, 4_001_000], 4_500_000),
      layer('layer l', [0, 1_999_000, 3_999_000], 4_500_000),
    ]);
    expect(v).toEqual({ state: 'aligned', matched: 3 });
  });

  it('unknown until minKeyframes instants were seen in every layer', () => {
    expect(
      checkKeyframeAlignment([layer('layer h', [0], 1_000_000), layer('layer l', [0], 1_000_000)]),
    ).toEqual({ state: 'unknown', matched: 1 });
    expect(checkKeyframeAlignment([layer('layer h', [0], 10), layer('layer l', [], 10)]).state).toBe(
      'unknown',
    );
  });

  it('misaligned: a key frame one frame off names the layers, the times and the gap', () => {
    const v = checkKeyframeAlignment([
      layer('layer h', [0, 2_000_000], 3_000_000),
      layer('layer l', [0, 2_033_333], 3_000_000),
    ]);
    expect(v.state).toBe('misaligned');
    if (v.state === 'misaligned') {
      expect(v.reason).toBe(
        'layer h has a key frame at 2.000 s where layer l has none (nearest 2.033 s, 33 ms away; at most 12 ms allowed)',
      );
    }
  });

  it('misaligned: a key frame in one layer only (a PLI answered by one encoder)', () => {
    const v = checkKeyframeAlignment([
      layer('layer h', [0, 1_000_000, 1_400_000, 2_000_000], 2_500_000),
      layer('layer l', [0, 1_000_000, 2_000_000], 2_500_000),
    ]);
    expect(v).toMatchObject({ state: 'misaligned' });
  });

  it('judges only key frames every layer could have shown', () => {
    // l started later (its first key frame at 2 s) and has not reached 6 s yet.
    const v = checkKeyframeAlignment([
      layer('layer h', [0, 2_000_000, 4_000_000, 6_000_000], 6_100_000),
      layer('layer l', [2_000_000, 4_000_000], 5_900_000),
    ]);
    expect(v).toEqual({ state: 'aligned', matched: 2 });
  });

  it('one layer (a publisher without simulcast) is aligned with itself', () => {
    expect(checkKeyframeAlignment([layer('the stream', [0], 100)]).state).toBe('aligned');
  });
});

describe('KeyframeAlignment', () => {
  it('removes each layer clock’s constant offset (its own anchor) before comparing', () => {
    // The same frames at 30 fps, GOP 1 s; layer 1's clock runs 25 ms ahead of layer 0's
    // (its first frame arrived 25 ms later), more than the tolerance.
    const a = new KeyframeAlignment(['layer h', 'layer l']);
    for (let n = 0; n < 75; n++) {
      const t = Math.round((n * 1e6) / 30);
      const arrival = 1_000_000_000 + t + 2_000 + (n % 3) * 1_500; // jitter on top
      a.push(0, t, arrival, n % 30 === 0);
      a.push(1, t + 25_000, arrival + 500, n % 30 === 0);
    }
    expect(a.verdict()).toEqual({ state: 'aligned', matched: 3 });
  });

  it('still sees a GOP that is one frame off', () => {
    const a = new KeyframeAlignment(['layer h', 'layer l']);
    for (let n = 0; n < 75; n++) {
      const t = Math.round((n * 1e6) / 30);
      const arrival = 1_000_000_000 + t + 2_000;
      a.push(0, t, arrival, n % 30 === 0);
      a.push(1, t, arrival, n % 30 === 1);
    }
    expect(a.verdict().state).toBe('misaligned');
  });

  it('takes 60 % of a frame interval as the tolerance: 20 ms at 30 fps, 10 ms at 60 fps', () => {
    const at = (fps: number, skewUs: number, frameOff = 0) => {
      const a = new KeyframeAlignment(['layer h', 'layer l']);
      const step = 1e6 / fps;
      for (let n = 0; n < 3 * fps; n++) {
        const t = Math.round(n * step);
        a.push(0, t, t + 5_000, n % fps === 0);
        // The second layer's packets always `skewUs` later (its sender starved on a loaded
        // machine): the correction takes that for its clock's offset.
        a.push(1, t, t + 5_000 + skewUs, n % fps === frameOff);
      }
      return { tolerance: a.tolerance(), state: a.verdict().state };
    };
    expect(at(30, 17_000)).toEqual({ tolerance: 20_000, state: 'aligned' });
    expect(at(60, 17_000)).toMatchObject({ tolerance: 10_000, state: 'misaligned' });
    // One frame off at 30 fps is still told apart.
    expect(at(30, 0, 1).state).toBe('misaligned');
  });
});
