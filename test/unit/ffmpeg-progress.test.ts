import { describe, expect, it } from '@jest/globals';
import { ProgressParser } from '../../src/workers/ffmpeg/progress.js';

/** Captured from ffmpeg 5.1.9 (`-progress pipe:1 -stats_period 0.1`, two x264 outputs). */
const CAPTURED = `frame=1
fps=0.00
stream_0_0_q=0.0
stream_1_0_q=0.0
bitrate=N/A
total_size=788
out_time_us=0
out_time_ms=0
out_time=00:00:00.000000
dup_frames=0
drop_frames=0
speed=   0x
progress=continue
frame=176
fps=0.00
stream_0_0_q=29.0
stream_1_0_q=29.0
bitrate=   1.6kbits/s
total_size=788
out_time_us=3866732
out_time_ms=3866732
out_time=00:00:03.866732
dup_frames=0
drop_frames=0
speed=4.07x
progress=continue
frame=180
fps=136.64
stream_0_0_q=-1.0
stream_1_0_q=-1.0
bitrate= 736.8kbits/s
total_size=543400
out_time_us=5900065
out_time_ms=5900065
out_time=00:00:05.900065
dup_frames=0
drop_frames=0
speed=4.48x
progress=end
`;

const EXPECTED = [
  { outTimeMs: 0, fps: null, speed: null, frame: 1, done: false },
  { outTimeMs: 3866, fps: null, speed: 4.07, frame: 176, done: false },
  { outTimeMs: 5900, fps: 136.64, speed: 4.48, frame: 180, done: true },
];

describe('ProgressParser', () => {
  it('turns each block of real -progress output into one event', () => {
    expect(new ProgressParser().push(CAPTURED)).toEqual(EXPECTED);
  });

  it('gives the same events however the pipe splits the text', () => {
    for (const size of [1, 7, 64]) {
      const parser = new ProgressParser();
      const events = [];
      for (let i = 0; i < CAPTURED.length; i += size)
        events.push(...parser.push(CAPTURED.slice(i, i + size)));
      expect(events).toEqual(EXPECTED);
    }
  });

  it('holds a partial line back until its newline arrives', () => {
    const parser = new ProgressParser();
    expect(parser.push('frame=5\nout_time_us=1000000\nprogress=cont')).toEqual([]);
    expect(parser.push('inue\n')).toEqual([
      { outTimeMs: 1000, fps: null, speed: null, frame: 5, done: false },
    ]);
  });

  it('keeps the last time when ffmpeg reports N/A or a negative time (encoder priming)', () => {
    const parser = new ProgressParser();
    // The N/A form of ffmpeg 5.1's print_report, before any packet has a timestamp.
    const events = parser.push(
      [
        'frame=0',
        'fps=0.00',
        'out_time_us=N/A',
        'out_time_ms=N/A',
        'out_time=N/A',
        'speed=N/A',
        'progress=continue',
        'out_time_us=2000000',
        'progress=continue',
        'out_time_us=-21333',
        'out_time=-00:00:00.021333',
        'progress=continue',
        '',
      ].join('\n'),
    );
    expect(events.map((e) => e.outTimeMs)).toEqual([0, 2000, 2000]);
    expect(events[0]).toEqual({ outTimeMs: 0, fps: null, speed: null, frame: 0, done: false });
  });

  it('falls back to out_time when the microsecond keys are missing', () => {
    expect(new ProgressParser().push('out_time=01:02:03.500000\nprogress=end\n')).toEqual([
      { outTimeMs: 3_723_500, fps: null, speed: null, frame: null, done: true },
    ]);
  });

  it('copes with CRLF and ignores lines that are not key=value', () => {
    expect(
      new ProgressParser().push('garbage\r\nframe=2\r\nout_time_us=40000\r\nprogress=continue\r\n'),
    ).toEqual([{ outTimeMs: 40, fps: null, speed: null, frame: 2, done: false }]);
  });
});
