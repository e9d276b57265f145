import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import type { MediaFrame } from '../../src/core/media.js';
import type { LiveSource } from '../../src/live/index.js';
import { launchChromium } from '../helpers/browser.js';
import { WhipTestServer } from '../helpers/whip-server.js';

/** A real browser stack against ingest: Chromium's fake camera and microphone, published over WHIP. */
describe('Chromium publishing over WHIP', () => {
  let server: WhipTestServer;
  let browser: Browser;

  beforeAll(async () => {
    server = await WhipTestServer.start();
    browser = await launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it.each(['vp8', 'h264'] as const)('with %s video and Opus', async (codec) => {
    const stream = `chrome-${codec}`;
    const frames: MediaFrame[] = [];
    const sessions: LiveSource[] = [];
    const off = server.onSession((s) => {
      if (s.streamId !== stream) return;
      sessions.push(s);
      s.onFrame((f) => frames.push(f));
    });
    const page = await browser.newPage();
    try {
      // Any page of the server's origin: http://127.0.0.1 is a secure context (getUserMedia).
      await page.goto(`${server.url}/blank`);
      const result = await page.evaluate(
        async ({ url, codec }) => {
          const media = await navigator.mediaDevices.getUserMedia({
            video: { width: 640, height: 360 },
            audio: true,
          });
          const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
          for (const track of media.getTracks()) {
            const t = pc.addTransceiver(track, { direction: 'sendonly' });
            if (track.kind === 'video') {
              const caps = RTCRtpSender.getCapabilities('video')!.codecs;
              const first = caps.filter((c) => c.mimeType.toLowerCase() === `video/${codec}`);
              t.setCodecPreferences([...first, ...caps.filter((c) => !first.includes(c))]);
            }
          }
          await pc.setLocalDescription(await pc.createOffer());
          await new Promise<void>((resolve) => {
            pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
            setTimeout(resolve, 2000);
          });
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'Content-Type': 'application/sdp' },
            body: pc.localDescription!.sdp,
          });
          const answer = await res.text();
          if (res.status !== 201) return { status: res.status, state: answer };
          await pc.setRemoteDescription({ type: 'answer', sdp: answer });
          await new Promise((r) => setTimeout(r, 4000));
          const state = pc.connectionState;
          pc.close();
          return { status: res.status, state };
        },
        { url: server.whipUrl(stream), codec },
      );
      expect(result).toEqual({ status: 201, state: 'connected' });
      const video = frames.filter((f) => f.kind === 'video');
      const audio = frames.filter((f) => f.kind === 'audio');
      expect(video.length).toBeGreaterThan(20);
      expect(audio.length).toBeGreaterThan(50);
      expect(video[0]!.keyframe).toBe(true);
      expect(sessions[0]!.video).toMatchObject({ codec, width: 640, height: 360 });
    } finally {
      off();
      await page.close();
    }
  });
});
