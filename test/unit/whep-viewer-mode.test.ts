import { describe, expect, it } from '@jest/globals';
import { PlayoutClock } from '../../src/ingest/whep/playout-clock.js';
import { ViewerMode } from '../../src/ingest/whep/viewer-mode.js';

describe('ViewerMode: what a viewer sends, switched at key frames', () => {
  it('passthrough starts on the first key frame of either, then takes the publisher’s at its next', () => {
    const m = new ViewerMode('passthrough', '720p');
    expect(m.publisherVideo(false)).toBe(false);
    expect(m.rungVideo('720p', false)).toBe(false);
    expect(m.rungVideo('720p', true)).toBe(true);
    expect(m.sending).toEqual({ on: 'rung', rung: '720p' });
    expect(m.rungAudio()).toBe(true);
    expect(m.publisherAudio()).toBe(false);
    expect(m.rungVideo('720p', false)).toBe(true);
    expect(m.publisherVideo(false)).toBe(false);
    expect(m.publisherVideo(true)).toBe(true);
    expect(m.sending).toEqual({ on: 'passthrough' });
    expect(m.rungVideo('720p', true)).toBe(false);
    expect(m.rungAudio()).toBe(false);
    expect(m.publisherAudio()).toBe(true);
  });

  it('rung mode never takes the publisher’s RTP and switches rungs at the wanted one’s key frame', () => {
    const m = new ViewerMode('rung', '720p');
    expect(m.publisherVideo(true)).toBe(false);
    expect(m.rungAudio()).toBe(true);
    expect(m.rungVideo('360p', true)).toBe(false);
    expect(m.rungVideo('720p', true)).toBe(true);
    m.want('360p');
    // The current rung goes on until the wanted one has a key frame.
    expect(m.rungVideo('720p', false)).toBe(true);
    expect(m.rungVideo('360p', false)).toBe(false);
    expect(m.rungVideo('360p', true)).toBe(true);
    expect(m.rungVideo('720p', true)).toBe(false);
    expect(m.sending).toEqual({ on: 'rung', rung: '360p' });
  });

  it('a takeover makes passthrough wait for the new publisher’s key frame', () => {
    const m = new ViewerMode('passthrough');
    expect(m.publisherVideo(true)).toBe(true);
    m.reset();
    expect(m.sending).toEqual({ on: 'none' });
    expect(m.publisherVideo(false)).toBe(false);
  });
});

describe('PlayoutClock: one delay for every rendition of a run', () => {
  it('sends a part’s first sample when it arrives and the rest at their media times after it', () => {
    const c = new PlayoutClock();
    c.arrived(1, 10, 1000);
    expect(c.sendAt(1, 10)).toBe(1000);
    expect(c.sendAt(1, 10.1)).toBeCloseTo(1100);
  });

  it('a late part delays everything after it; early parts shrink the delay slowly', () => {
    const c = new PlayoutClock();
    c.arrived(1, 0, 1000);
    c.arrived(1, 0.2, 1250); // 50 ms late
    expect(c.sendAt(1, 0.4)).toBeCloseTo(1450);
    c.arrived(1, 0.6, 1500); // 150 ms early
    expect(c.sendAt(1, 0.8)).toBeCloseTo(1849);
  });

  it('a new run (media time from 0 again) starts a new delay; the old run’s samples go at once', () => {
    const c = new PlayoutClock();
    c.arrived(1, 30, 1000);
    c.arrived(2, 0, 5000);
    expect(c.sendAt(2, 0.5)).toBe(5500);
    expect(c.sendAt(1, 31)).toBe(0);
  });
});
