import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { AppError, errorMessage } from '../core/errors.js';
import type { AudioCodec, VideoCodec } from '../core/media.js';

/** What a relay body carries, from its response headers. */
export interface RelayBodyInfo {
  sessionId: string;
  /** Wall clock (epoch ms) of the body's media time 0. */
  epochMs: number;
  video: VideoCodec | null;
  audio: AudioCodec | null;
  /** The video's coded size and frame rate, when the relay knows them. */
  width: number | null;
  height: number | null;
  fps: number | null;
  /** Passthrough bodies (`layers`): one entry per video track, in track order (largest first). */
  layers: RelayLayerInfo[] | null;
}

/** One passthrough track as `X-Whipcast-Layers` describes it. */
export interface RelayLayerInfo {
  /** The simulcast rid, checked against RFC 8851's alphabet; null for the one encoding. */
  rid: string | null;
  width: number;
  height: number;
  fps: number | null;
  bitrateKbps: number | null;
}

export type RelayAnswer =
  /** 200: the body is the stream's current session; the caller reads and destroys it. */
  | { status: 'live'; info: RelayBodyInfo; body: IncomingMessage }
  /** 404: the stream has no current session. */
  | { status: 'ended' }
  /** 409 (passthrough): the layers cannot be passed through; `reason` says why. */
  | { status: 'refused'; reason: string };

/** The relay could not be reached or answered oddly: worth retrying. */
export class RelayUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RelayUnavailableError';
  }
}

export interface RelayRequestOptions {
  signal: AbortSignal;
  /**
   * The connection may be silent this long, before the headers (the relay waits for a
   * key frame) or between body bytes, before it counts as lost. @defaultValue 15000
   */
  idleTimeoutMs?: number;
  /** Ask for every layer as its own track (`?layers=all`, passthrough). */
  layers?: boolean;
}

const VIDEO: ReadonlySet<string> = new Set<VideoCodec>(['h264', 'h265', 'av1', 'vp8', 'vp9']);
const AUDIO: ReadonlySet<string> = new Set<AudioCodec>(['opus']);

/**
 * `GET {url}` with the job's bearer token. Resolves on 200 (with the body unread) and
 * 404; rejects with AppError `unauthorized` on 401/403 (no retry can fix the token),
 * with RelayUnavailableError on anything else, and with the signal's reason on abort.
 */
export function requestRelay(url: string, token: string, o: RelayRequestOptions): Promise<RelayAnswer> {
  const target = new URL(url);
  if (o.layers) target.searchParams.set('layers', 'all');
  const client = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : null;
  if (client === null) {
    return Promise.reject(
      new AppError('validation_failed', `relay URL must be http(s), got ${target.protocol}`),
    );
  }
  return new Promise<RelayAnswer>((resolve, reject) => {
    const req = client.get(target, {
      headers: { authorization: `Bearer ${token}`, accept: 'video/x-matroska' },
      signal: o.signal,
      // One connection per body: nothing to reuse, and no pooled socket to outlive the job.
      agent: false,
    });
    req.setTimeout(o.idleTimeoutMs ?? 15_000, () => {
      req.destroy(new RelayUnavailableError(`relay connection idle for ${o.idleTimeoutMs ?? 15_000} ms`));
    });
    req.on('error', (e) => {
      if (o.signal.aborted) reject(o.signal.reason instanceof Error ? o.signal.reason : e);
      else if (e instanceof RelayUnavailableError) reject(e);
      else reject(new RelayUnavailableError(`relay request failed: ${errorMessage(e)}`, { cause: e }));
    });
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status === 200) {
        const info = parseInfo(res);
        if (typeof info === 'string') {
          res.destroy();
          reject(new RelayUnavailableError(`relay answer is not usable: ${info}`));
          return;
        }
        // Errors after this point belong to the body's reader.
        res.on('error', () => undefined);
        resolve({ status: 'live', info, body: res });
        return;
      }
      if (status === 409 && o.layers) {
        readReason(res).then((reason) => resolve({ status: 'refused', reason }), reject);
        return;
      }
      res.resume();
      if (status === 404) resolve({ status: 'ended' });
      else if (status === 401 || status === 403) {
        reject(new AppError('unauthorized', `the relay refused the job's token (${status})`));
      } else reject(new RelayUnavailableError(`relay answered ${status}`));
    });
  });
}

/** The message of a JSON error answer (at most 4 KiB read), for a person to read. */
async function readReason(res: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of res) {
    text += (chunk as Buffer).toString('utf8');
    if (text.length > 4096) break;
  }
  res.destroy();
  try {
    const m = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    if (typeof m === 'string') return m.slice(0, 1000);
  } catch {
    // not JSON: say so below
  }
  return 'the relay refused to pass the layers through';
}

const RID = /^[A-Za-z0-9_-]{1,16}$/;

/** `X-Whipcast-Layers`: `rid:WxH:fps:kbps,...`; null when absent, or when any entry is malformed. */
function parseLayers(header: string | string[] | undefined): RelayLayerInfo[] | null {
  if (typeof header !== 'string' || header === '') return null;
  const out: RelayLayerInfo[] = [];
  for (const entry of header.split(',')) {
    const m = /^([^:]{1,16}):(\d{1,5})x(\d{1,5}):([\d.]{1,6}|-):(\d{1,7}|-)$/.exec(entry.trim());
    if (!m) return null;
    const [, rid = '', w = '', h = '', fps = '', kbps = ''] = m;
    if (rid !== '-' && !RID.test(rid)) return null;
    const f = Number(fps);
    out.push({
      rid: rid === '-' ? null : rid,
      width: Number(w),
      height: Number(h),
      fps: fps !== '-' && f >= 1 && f <= 240 ? f : null,
      bitrateKbps: kbps === '-' ? null : Number(kbps),
    });
  }
  return out.length > 0 ? out : null;
}

function parseInfo(res: IncomingMessage): RelayBodyInfo | string {
  const type = res.headers['content-type'] ?? '';
  if (!type.startsWith('video/x-matroska')) return `content type ${JSON.stringify(type)}`;
  const epochMs = Number(res.headers['x-whipcast-epoch']);
  if (!Number.isFinite(epochMs) || epochMs <= 0) return 'no X-Whipcast-Epoch';
  const sessionId = String(res.headers['x-whipcast-session'] ?? '');
  let video: VideoCodec | null = null;
  let audio: AudioCodec | null = null;
  for (const part of String(res.headers['x-whipcast-tracks'] ?? '').split(',')) {
    const [kind, codec = ''] = part.trim().split('=');
    if (kind === 'video' && VIDEO.has(codec)) video = codec as VideoCodec;
    else if (kind === 'audio' && AUDIO.has(codec)) audio = codec as AudioCodec;
  }
  const size = /^(\d{1,5})x(\d{1,5})$/.exec(String(res.headers['x-whipcast-video-size'] ?? ''));
  const fps = Number(res.headers['x-whipcast-video-fps']);
  return {
    sessionId,
    epochMs,
    video,
    audio,
    width: size ? Number(size[1]) : null,
    height: size ? Number(size[2]) : null,
    fps: Number.isFinite(fps) && fps >= 1 && fps <= 240 ? fps : null,
    layers: parseLayers(res.headers['x-whipcast-layers']),
  };
}
