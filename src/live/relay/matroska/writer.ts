import { element, float, master, string, uint, unknownSizeHeader } from './ebml.js';
import { ID, TRACK_TYPE } from './ids.js';

/**
 * A Matroska writer for one live byte stream: a header (EBML header, a Segment of
 * unknown size, Info, Tracks), then one SimpleBlock per frame inside Clusters of unknown
 * size, each block returned as bytes the moment its frame is given. Pure: no I/O.
 *
 * Why not mediabunny's MkvOutputFormat (werift's dependency, which we tried first): its
 * muxer interleaves by timestamp and writes a packet only once every track has one
 * queued (matroska-muxer.ts interleaveChunks). Measured with mediabunny 1.61, appendOnly
 * and minimumClusterDuration 0: five VP8 frames produced no bytes until an Opus packet
 * came. A WebRTC sender with Opus DTX sends almost no audio in silence, so video would
 * wait for it (hundreds of ms, or for good), far from the relay's few-ms budget. It also
 * writes the Tracks only after a packet of every track, and stores H.264 as it is given
 * (Annex-B) with no avcC. Here each frame is its own write, and H.264 is converted.
 */

export interface MkvVideoTrack {
  kind: 'video';
  codecId: 'V_MPEG4/ISO/AVC' | 'V_MPEGH/ISO/HEVC' | 'V_AV1' | 'V_VP8' | 'V_VP9';
  codecPrivate?: Buffer;
  width: number;
  height: number;
}

export type MkvTrack =
  | MkvVideoTrack
  | {
      kind: 'audio';
      codecId: 'A_OPUS';
      codecPrivate: Buffer;
      sampleRate: number;
      channels: number;
      /** Nanoseconds (CodecDelay, SeekPreRoll). */
      codecDelayNs?: number;
      seekPreRollNs?: number;
    };

/** Block timestamps are in milliseconds (the Matroska default TimestampScale). */
export const TIMESTAMP_SCALE_NS = 1_000_000;

const INT16_MIN = -32768;
const INT16_MAX = 32767;

export class MatroskaLiveWriter {
  readonly tracks: readonly MkvTrack[];
  #clusterMs: number | null = null;

  /** Tracks are numbered 1, 2, ... in the order given. */
  constructor(tracks: readonly MkvTrack[]) {
    if (tracks.length === 0 || tracks.length > 126) throw new RangeError('1 to 126 tracks');
    this.tracks = tracks;
  }

  /** Everything before the first Cluster. */
  header(): Buffer {
    const ebml = master(ID.EBML, [
      uint(ID.EBMLVersion, 1),
      uint(ID.EBMLReadVersion, 1),
      uint(ID.EBMLMaxIDLength, 4),
      uint(ID.EBMLMaxSizeLength, 8),
      string(ID.DocType, 'matroska'),
      uint(ID.DocTypeVersion, 4),
      uint(ID.DocTypeReadVersion, 2),
    ]);
    const info = master(ID.Info, [
      uint(ID.TimestampScale, TIMESTAMP_SCALE_NS),
      string(ID.MuxingApp, 'whipcast'),
      string(ID.WritingApp, 'whipcast'),
    ]);
    const tracks = master(
      ID.Tracks,
      this.tracks.map((t, i) => trackEntry(t, i + 1)),
    );
    return Buffer.concat([ebml, unknownSizeHeader(ID.Segment), info, tracks]);
  }

  /**
   * One frame as a SimpleBlock, preceded by a new Cluster when one is due: at every
   * video key frame (so a reader can start there) and whenever the block's time would
   * not fit the 16-bit offset from its cluster's timestamp.
   *
   * @param track 1-based track number.
   * @param timeMs Milliseconds from the stream's start, never negative.
   */
  block(track: number, timeMs: number, keyframe: boolean, data: Uint8Array): Buffer {
    const t = this.tracks[track - 1];
    if (t === undefined) throw new RangeError(`no track ${track}`);
    if (!Number.isSafeInteger(timeMs) || timeMs < 0) throw new RangeError(`bad block time ${timeMs}`);
    const parts: Buffer[] = [];
    let rel = this.#clusterMs === null ? 0 : timeMs - this.#clusterMs;
    if (this.#clusterMs === null || (t.kind === 'video' && keyframe) || rel < INT16_MIN || rel > INT16_MAX) {
      this.#clusterMs = timeMs;
      rel = 0;
      parts.push(unknownSizeHeader(ID.Cluster), uint(ID.Timestamp, timeMs));
    }
    const head = Buffer.alloc(4);
    head[0] = 0x80 | track; // track number as a 1-byte vint
    head.writeInt16BE(rel, 1);
    head[3] = keyframe || t.kind === 'audio' ? 0x80 : 0;
    parts.push(element(ID.SimpleBlock, Buffer.concat([head, data])));
    return Buffer.concat(parts);
  }
}

function trackEntry(t: MkvTrack, n: number): Buffer {
  const common = [
    uint(ID.TrackNumber, n),
    uint(ID.TrackUID, n),
    uint(ID.TrackType, TRACK_TYPE[t.kind]),
    uint(ID.FlagLacing, 0),
    string(ID.CodecID, t.codecId),
  ];
  if (t.codecPrivate !== undefined) common.push(element(ID.CodecPrivate, t.codecPrivate));
  if (t.kind === 'video') {
    return master(ID.TrackEntry, [
      ...common,
      master(ID.Video, [uint(ID.PixelWidth, t.width), uint(ID.PixelHeight, t.height)]),
    ]);
  }
  return master(ID.TrackEntry, [
    ...common,
    uint(ID.CodecDelay, t.codecDelayNs ?? 0),
    uint(ID.SeekPreRoll, t.seekPreRollNs ?? 80_000_000),
    master(ID.Audio, [float(ID.SamplingFrequency, t.sampleRate), uint(ID.Channels, t.channels)]),
  ]);
}
