import { describe, expect, it } from '@jest/globals';
import {
  parseEncoders,
  parseFilters,
  parseHwaccels,
  parseInputInfo,
  testEncodeArgs,
} from '../../src/workers/ffmpeg/probe.js';

// All texts below were captured from ffmpeg 5.1.9 (Debian 12).

const MP4 = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from '/tmp/fx/clip.mp4':
  Metadata:
    major_brand     : isom
    minor_version   : 512
    compatible_brands: isomiso2avc1mp41
    encoder         : Lavf59.27.100
  Duration: 00:00:06.00, start: 0.000000, bitrate: 2069 kb/s
  Stream #0:0[0x1](und): Video: h264 (Constrained Baseline) (avc1 / 0x31637661), yuv420p(progressive), 640x360 [SAR 1:1 DAR 16:9], 1996 kb/s, 30 fps, 30 tbr, 15360 tbn (default)
    Metadata:
      handler_name    : VideoHandler
      vendor_id       : [0][0][0][0]
      encoder         : Lavc59.37.100 libx264
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, mono, fltp, 64 kb/s (default)
    Metadata:
      handler_name    : SoundHandler
      vendor_id       : [0][0][0][0]
At least one output file must be specified
`;

const MP3_WITH_COVER = `[mjpeg @ 0x55d93ed46a80] EOI missing, emulating
Input #0, mp3, from 'cover.mp3':
  Metadata:
    encoder         : Lavf59.27.100
  Duration: 00:00:01.04, start: 0.025056, bitrate: 67 kb/s
  Stream #0:0: Audio: mp3, 44100 Hz, mono, fltp, 64 kb/s
  Stream #0:1: Video: mjpeg (Baseline), yuvj420p(pc, bt470bg/unknown/unknown), 64x64 [SAR 1:1 DAR 1:1], 90k tbr, 90k tbn (attached pic)
    Metadata:
      comment         : Other
At least one output file must be specified
`;

// The layout ffmpeg 5.1 prints for a phone recording held sideways, and for PAL DV.
const PHONE = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'phone.mp4':
  Duration: 00:00:10.01, start: 0.000000, bitrate: 17000 kb/s
  Stream #0:0[0x1](eng): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 1920x1080, 16800 kb/s, SAR 1:1 DAR 16:9, 29.97 fps, 29.97 tbr, 90k tbn (default)
    Metadata:
      handler_name    : VideoHandle
    Side data:
      displaymatrix: rotation of -90.00 degrees
  Stream #0:1[0x2](eng): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, 192 kb/s (default)
`;

const DV = `Input #0, avi, from 'dv.avi':
  Duration: 00:00:04.00, start: 0.000000, bitrate: 28800 kb/s
  Stream #0:0: Video: dvvideo (dvsd / 0x64737664), yuv420p, 720x576 [SAR 16:15 DAR 4:3], 28800 kb/s, 25 fps, 25 tbr, 25 tbn
`;

const TS_PIPE = `Input #0, mpegts, from 'pipe:0':
  Duration: N/A, start: 1.400000, bitrate: N/A
  Program 1 
    Metadata:
      service_name    : Service01
      service_provider: FFmpeg
  Stream #0:0[0x100]: Video: h264 (Constrained Baseline) ([27][0][0][0] / 0x001B), yuv420p(progressive), 640x360 [SAR 1:1 DAR 16:9], 30 fps, 30 tbr, 90k tbn
  Stream #0:1[0x101](und): Audio: aac (LC) ([15][0][0][0] / 0x000F), 48000 Hz, mono, fltp, 67 kb/s
`;

describe('parseInputInfo', () => {
  it('reads duration, streams, size and codec of an MP4', () => {
    expect(parseInputInfo(MP4)).toEqual({
      durationMs: 6000,
      hasVideo: true,
      hasAudio: true,
      width: 640,
      height: 360,
      sar: { num: 1, den: 1 },
      fps: 30,
      videoCodec: 'h264',
    });
  });

  it("reads the pixel shape, the frame rate and a phone's rotation", () => {
    expect(parseInputInfo(PHONE)).toMatchObject({
      width: 1920,
      height: 1080,
      sar: { num: 1, den: 1 },
      fps: 29.97,
      rotation: -90,
    });
    expect(parseInputInfo(DV)).toMatchObject({ width: 720, height: 576, sar: { num: 16, den: 15 }, fps: 25 });
  });

  it('does not count cover art as video', () => {
    expect(parseInputInfo(MP3_WITH_COVER)).toEqual({ durationMs: 1040, hasVideo: false, hasAudio: true });
  });

  it('gives null duration where the container has none', () => {
    expect(parseInputInfo(TS_PIPE)).toMatchObject({
      durationMs: null,
      hasVideo: true,
      width: 640,
      height: 360,
    });
  });

  it('returns null without an input section', () => {
    expect(parseInputInfo('/tmp/fx/nope.mp4: No such file or directory\n')).toBeNull();
    expect(parseInputInfo('/tmp/fx/boxes.py: Invalid data found when processing input\n')).toBeNull();
  });
});

describe('ffmpeg listings', () => {
  it('parses -encoders', () => {
    const text = ` V..... = Video
 A..... = Audio
 S..... = Subtitle
 .F.... = Frame-level multithreading
 ..S... = Slice-level multithreading
 ...X.. = Codec is experimental
 ....B. = Supports draw_horiz_band
 .....D = Supports direct rendering method 1
 ------
 V....D libx264              libx264 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 (codec h264)
 V....D libx264rgb           libx264 H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 RGB (codec h264)
 V....D h264_nvenc           NVIDIA NVENC H.264 encoder (codec h264)
 A..... aac                  AAC (Advanced Audio Coding)
 A..... libopus              libopus Opus (codec opus)
`;
    expect(parseEncoders(`Encoders:\n${text}`)).toEqual([
      'libx264',
      'libx264rgb',
      'h264_nvenc',
      'aac',
      'libopus',
    ]);
  });

  it('parses -hwaccels', () => {
    expect(
      parseHwaccels('Hardware acceleration methods:\nvdpau\ncuda\nvaapi\nqsv\ndrm\nopencl\nvulkan\n\n'),
    ).toEqual(['vdpau', 'cuda', 'vaapi', 'qsv', 'drm', 'opencl', 'vulkan']);
  });

  it('parses -filters', () => {
    const text = `Filters:
  T.. = Timeline support
  .S. = Slice threading
  ..C = Command support
  A = Audio input/output
  V = Video input/output
  N = Dynamic number and/or type of input/output
  | = Source or sink filter
 ..C amix              N->A       Audio mixing.
 ... anullsrc          |->A       Null audio source, return empty audio frames.
 ..C scale             V->V       Scale the input video size and/or convert the image format.
 ... scale_cuda        V->V       GPU accelerated video resizer
 ... split             V->N       Pass on the input to N video outputs.
 ... nullsink          V->|       Do absolutely nothing with the input video.
`;
    expect(parseFilters(text)).toEqual(['amix', 'anullsrc', 'scale', 'scale_cuda', 'split', 'nullsink']);
  });
});

describe('testEncodeArgs', () => {
  it('sends one frame through the upload, the scaler and the encoder of the family', () => {
    const args = testEncodeArgs('vaapi', '/dev/dri/renderD129');
    expect(args).toContain('vaapi=hw:/dev/dri/renderD129');
    expect(args.join(' ')).toContain(
      '-vf format=nv12,hwupload,scale_vaapi=w=128:h=72 -c:v h264_vaapi -frames:v 1',
    );
    expect(testEncodeArgs('nvenc', '').join(' ')).toContain('scale_cuda=128:72 -c:v h264_nvenc');
    expect(testEncodeArgs('qsv', '').join(' ')).toContain('vpp_qsv=w=128:h=72 -c:v h264_qsv');
  });
});
