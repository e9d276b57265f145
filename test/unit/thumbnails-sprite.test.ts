import { describe, expect, it } from '@jest/globals';
import { contentTypeFor, isObjectName } from '../../src/packager/names.js';
import {
  JPEG_TYPE,
  POSTER_NAME,
  SPRITE_NAME,
  THUMBNAILS_VTT_NAME,
  VTT_TYPE,
} from '../../src/packager/names.js';
import {
  planSprite,
  posterTimeS,
  renderThumbnailsVtt,
  segmentsFor,
  vttTime,
} from '../../src/packager/thumbnails/sprite.js';

describe('the stored names of pictures', () => {
  it('pass the storage allow-list and are served with their content type', () => {
    for (const n of [POSTER_NAME, SPRITE_NAME, THUMBNAILS_VTT_NAME]) expect(isObjectName(n)).toBe(true);
    expect(contentTypeFor(POSTER_NAME)).toBe(JPEG_TYPE);
    expect(contentTypeFor(SPRITE_NAME)).toBe('image/jpeg');
    expect(contentTypeFor(THUMBNAILS_VTT_NAME)).toBe(VTT_TYPE);
    expect(VTT_TYPE).toBe('text/vtt');
  });
});

describe('planSprite', () => {
  it('takes a tile at every key frame of a short file', () => {
    expect(planSprite({ durationS: 8, gopS: 2, width: 640, height: 360 })).toEqual({
      intervalS: 2,
      count: 4,
      columns: 4,
      rows: 1,
      tileWidth: 160,
      tileHeight: 90,
    });
  });

  it('gives audio that outlasts the video by a few ms no tile of its own', () => {
    expect(planSprite({ durationS: 8.021, gopS: 2, width: 640, height: 360 }).count).toBe(4);
    // A last GOP that is really there keeps its tile.
    expect(planSprite({ durationS: 7, gopS: 2, width: 640, height: 360 }).count).toBe(4);
  });

  it('spaces tiles whole GOPs apart so a long file has at most 100, ten to a row', () => {
    const p = planSprite({ durationS: 2 * 3600, gopS: 2, width: 1920, height: 1080 });
    expect(p).toMatchObject({ intervalS: 72, count: 100, columns: 10, rows: 10 });
    const odd = planSprite({ durationS: 1000, gopS: 3, width: 1280, height: 720 });
    expect(odd.intervalS).toBe(12);
    expect(odd.intervalS % 3).toBe(0);
    expect(odd.count).toBeLessThanOrEqual(100);
  });

  it('keeps portrait pictures portrait, in even sizes', () => {
    expect(planSprite({ durationS: 4, gopS: 1, width: 360, height: 640 })).toMatchObject({
      tileWidth: 160,
      tileHeight: 284,
    });
    expect(planSprite({ durationS: 4, gopS: 1, width: 426, height: 240 }).tileHeight).toBe(90);
  });

  it('refuses what it cannot plan', () => {
    expect(() => planSprite({ durationS: 0, gopS: 2, width: 640, height: 360 })).toThrow(RangeError);
    expect(() => planSprite({ durationS: 5, gopS: 0, width: 640, height: 360 })).toThrow(RangeError);
  });
});

describe('the poster time', () => {
  it('is the key frame at or before a tenth of the way in', () => {
    expect(posterTimeS(8, 2)).toBe(0);
    expect(posterTimeS(60, 2)).toBe(6);
    expect(posterTimeS(75, 2)).toBe(6);
  });
});

describe('the WebVTT thumbnail track', () => {
  it('writes timestamps as WebVTT does', () => {
    expect(vttTime(0)).toBe('00:00:00.000');
    expect(vttTime(72.5)).toBe('00:01:12.500');
    expect(vttTime(3600 * 2 + 1.001)).toBe('02:00:01.001');
  });

  it('maps each time range to its tile with a #xywh fragment, the last cue ending with the media', () => {
    const plan = planSprite({ durationS: 5, gopS: 1, width: 640, height: 360 });
    expect(plan).toMatchObject({ count: 5, columns: 5 });
    expect(renderThumbnailsVtt({ ...plan, columns: 2, rows: 3 }, 4.5)).toBe(
      [
        'WEBVTT',
        '',
        '00:00:00.000 --> 00:00:01.000',
        'sprite.jpg#xywh=0,0,160,90',
        '',
        '00:00:01.000 --> 00:00:02.000',
        'sprite.jpg#xywh=160,0,160,90',
        '',
        '00:00:02.000 --> 00:00:03.000',
        'sprite.jpg#xywh=0,90,160,90',
        '',
        '00:00:03.000 --> 00:00:04.000',
        'sprite.jpg#xywh=160,90,160,90',
        '',
        '00:00:04.000 --> 00:00:04.500',
        'sprite.jpg#xywh=0,180,160,90',
        '',
      ].join('\n'),
    );
  });
});

describe('segmentsFor: the segments the pictures of a file are cut from', () => {
  it('is every segment of a short file whose tiles are a GOP apart', () => {
    const plan = planSprite({ durationS: 8, gopS: 2, width: 640, height: 360 });
    expect(segmentsFor(plan, 0, [4, 4])).toEqual([0, 1]);
  });

  it('is one segment per tile (and the poster) for a long file', () => {
    const durations = Array.from({ length: 1800 }, () => 4);
    const plan = planSprite({ durationS: 7200, gopS: 2, width: 640, height: 360 });
    const posterAt = posterTimeS(7200, 2);
    const picked = segmentsFor(plan, posterAt, durations);
    expect(picked.length).toBeLessThanOrEqual(101);
    // Tile i at i * 72 s sits in segment i * 18; the poster at 720 s in segment 180.
    expect(picked.slice(0, 3)).toEqual([0, 18, 36]);
    expect(picked).toContain(180);
  });

  it('finds a tile in the segment that covers it when segments and tiles do not line up', () => {
    const plan = { intervalS: 6, count: 3, columns: 3, rows: 1, tileWidth: 160, tileHeight: 90 };
    // Segments start at 0, 4, 8, 12: tiles at 0, 6 and 12 are in segments 0, 1 and 3.
    expect(segmentsFor(plan, 0, [4, 4, 4, 4])).toEqual([0, 1, 3]);
  });
});
