import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser.js';
import { startTestService } from './service.js';

export interface ChromiumPublishOptions {
  /** Any page of the server's origin (http://127.0.0.1 is a secure context for getUserMedia). */
  pageUrl: string;
  whipUrl: string;
  /** The video codec put first with setCodecPreferences, e.g. `av1`, `vp8`, `h264`. */
  codec: string;
  width: number;
  height: number;
  /**
   * The frame rate asked of the camera. @defaultValue 30 (the rig's fake camera runs at
   * 30): at the fake camera's own 20 fps, a 2 s key frame interval is not a whole number
   * of the light preset's 1/3 s parts, and the strict checker finds a short part inside a
   * segment (a packager matter, see the report).
   */
  fps?: number;
  /** Simulcast: one encoding per rid, scaled down by `scale` (sendEncodings). */
  encodings?: { rid: string; scale: number; maxBitrateKbps?: number }[];
  /**
   * Chromium's start bitrate, set as x-google-start-bitrate in the answer it is given (the
   * common SFU way; Chromium reads it from the remote description). Ingest sends no
   * bandwidth estimate (no REMB, no transport-cc), so without it Chromium starts at
   * 300 kb/s, grows slowly on receiver reports alone, and leaves out simulcast layers
   * that do not fit meanwhile.
   */
  startBitrateKbps?: number;
}

export interface ChromiumPublication {
  status: number;
  offer: string;
  /** The answer, or the error text of a refusal. */
  answer: string;
  /** Wall clock (epoch ms) when the POST was sent. */
  postedAtMs: number;
}

/**
 * A Chromium publisher (fake camera and microphone) on a page it owns: the peer stays in
 * the page until stop(). Each step runs in the page, as a WHIP client written in the
 * browser would: getUserMedia, addTransceiver (sendonly, with sendEncodings for
 * simulcast), setCodecPreferences, the offer after ICE gathering, POST, the answer.
 */
export class ChromiumPublisher {
  readonly #page: Page;

  private constructor(page: Page) {
    this.#page = page;
  }

  static async publish(
    browser: Browser,
    o: ChromiumPublishOptions,
  ): Promise<{ publisher: ChromiumPublisher; result: ChromiumPublication }> {
    const page = await browser.newPage();
    const publisher = new ChromiumPublisher(page);
    try {
      await page.goto(o.pageUrl);
      const result = await page.evaluate(async (o) => {
        const media = await navigator.mediaDevices.getUserMedia({
          video: { width: o.width, height: o.height, frameRate: o.fps ?? 30 },
          audio: true,
        });
        const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
        (window as unknown as { whipPc: RTCPeerConnection }).whipPc = pc;
        for (const track of media.getTracks()) {
          const sendEncodings =
            track.kind === 'video' && o.encodings
              ? o.encodings.map((e) => ({
                  rid: e.rid,
                  scaleResolutionDownBy: e.scale,
                  ...(e.maxBitrateKbps ? { maxBitrate: e.maxBitrateKbps * 1000 } : {}),
                }))
              : undefined;
          const t = pc.addTransceiver(track, {
            direction: 'sendonly',
            ...(sendEncodings ? { sendEncodings } : {}),
          });
          if (track.kind === 'video') {
            const caps = RTCRtpSender.getCapabilities('video')!.codecs;
            const first = caps.filter((c) => c.mimeType.toLowerCase() === `video/${o.codec}`);
            t.setCodecPreferences([...first, ...caps.filter((c) => !first.includes(c))]);
          }
        }
        await pc.setLocalDescription(await pc.createOffer());
        await new Promise<void>((resolve) => {
          pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
          setTimeout(resolve, 2000);
        });
        const offer = pc.localDescription!.sdp;
        const postedAtMs = Date.now();
        const res = await fetch(o.whipUrl, {
          method: 'POST',
          headers: { 'Content-Type': 'application/sdp' },
          body: offer,
        });
        const answer = await res.text();
        let applied = answer;
        if (o.startBitrateKbps) {
          const start = `x-google-start-bitrate=${o.startBitrateKbps}`;
          const lines = answer.split('\r\n');
          const video = lines.findIndex((l) => l.startsWith('m=video'));
          const pts = video < 0 ? [] : lines[video]!.split(' ').slice(3);
          const out: string[] = [];
          for (const l of lines) {
            const fmtp = /^a=fmtp:(\d+) /.exec(l);
            out.push(fmtp && pts.includes(fmtp[1]!) ? `${l};${start}` : l);
            const map = /^a=rtpmap:(\d+) /.exec(l);
            if (map && pts.includes(map[1]!) && !lines.some((x) => x.startsWith(`a=fmtp:${map[1]} `))) {
              out.push(`a=fmtp:${map[1]} ${start}`);
            }
          }
          applied = out.join('\r\n');
        }
        if (res.status === 201) await pc.setRemoteDescription({ type: 'answer', sdp: applied });
        return { status: res.status, offer, answer, postedAtMs };
      }, o);
      return { publisher, result };
    } catch (e) {
      await publisher.stop();
      throw e;
    }
  }

  /** The page's peer connection state. */
  state(): Promise<string> {
    return this.#page.evaluate(
      () => (window as unknown as { whipPc?: RTCPeerConnection }).whipPc?.connectionState ?? 'none',
    );
  }

  /** The sender's outbound-rtp figures per rid (frame size, frames encoded): what Chromium sends. */
  outbound(): Promise<{ rid: string; width: number; height: number; framesSent: number; active: boolean }[]> {
    return this.#page.evaluate(async () => {
      const pc = (window as unknown as { whipPc?: RTCPeerConnection }).whipPc;
      if (!pc) return [];
      const out: { rid: string; width: number; height: number; framesSent: number; active: boolean }[] = [];
      (await pc.getStats()).forEach((s: Record<string, unknown>) => {
        if (s['type'] === 'outbound-rtp' && s['kind'] === 'video') {
          out.push({
            rid: String(s['rid'] ?? ''),
            width: Number(s['frameWidth'] ?? 0),
            height: Number(s['frameHeight'] ?? 0),
            framesSent: Number(s['framesSent'] ?? 0),
            active: s['active'] === true,
          });
        }
      });
      return out;
    });
  }

  /** Starts or stops sending one simulcast layer (RTCRtpSender.setParameters, encodings[].active). */
  setActive(rid: string, active: boolean): Promise<void> {
    return this.#page.evaluate(
      async ({ rid, active }) => {
        const pc = (window as unknown as { whipPc: RTCPeerConnection }).whipPc;
        const sender = pc.getSenders().find((s) => s.track?.kind === 'video')!;
        const params = sender.getParameters();
        for (const e of params.encodings) if (e.rid === rid) e.active = active;
        await sender.setParameters(params);
      },
      { rid, active },
    );
  }

  /** Closes the peer and the page; idempotent. */
  async stop(): Promise<void> {
    if (this.#page.isClosed()) return;
    await this.#page
      .evaluate(() => (window as unknown as { whipPc?: RTCPeerConnection }).whipPc?.close())
      .catch(() => undefined);
    await this.#page.close();
  }
}

/**
 * What a Chromium publishing test owns: the whole service (real worker) and a browser
 * with a fake camera and microphone; `publishers` and `viewers` are closed by close(),
 * before the browser and the service.
 */
export class ChromiumPublishingRig {
  readonly publishers: ChromiumPublisher[] = [];
  readonly viewers: { close(): Promise<void> }[] = [];
  readonly service: Awaited<ReturnType<typeof startTestService>>;
  readonly browser: Browser;

  private constructor(service: Awaited<ReturnType<typeof startTestService>>, browser: Browser) {
    this.service = service;
    this.browser = browser;
  }

  static async start(): Promise<ChromiumPublishingRig> {
    const service = await startTestService();
    try {
      const browser = await launchChromium([
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
      ]);
      return new ChromiumPublishingRig(service, browser);
    } catch (e) {
      await service.close();
      throw e;
    }
  }

  get url(): string {
    return this.service.service.url;
  }

  /** Publishes from a page of the service's origin; the publisher is closed with the rig. */
  async publish(
    o: Omit<ChromiumPublishOptions, 'pageUrl'>,
  ): Promise<{ publisher: ChromiumPublisher; result: ChromiumPublication }> {
    const r = await ChromiumPublisher.publish(this.browser, { ...o, pageUrl: `${this.url}/healthz` });
    this.publishers.push(r.publisher);
    return r;
  }

  async close(): Promise<void> {
    await Promise.all(this.viewers.map((v) => v.close()));
    await Promise.all(this.publishers.map((p) => p.stop()));
    await this.browser.close();
    await this.service.close();
  }
}
