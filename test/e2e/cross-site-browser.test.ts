import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { waitFor } from '../helpers/service-process.js';
import { startTestService } from '../helpers/service.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

/** File jobs queued so far (a live stream queues a live job of its own). */
async function fileJobs(base: string): Promise<unknown[]> {
  const { jobs } = (await (await fetch(`${base}/api/jobs`)).json()) as { jobs: { queue: string }[] };
  return jobs.filter((j) => j.queue === 'vod');
}

/**
 * In the page at `page`: a multipart POST /api/vod to `target` (a file, as a form sends it:
 * no preflight). What the page saw: the status, or `blocked` when the browser withheld
 * the answer (no CORS) or refused to send.
 */
function postUpload(page: Page, target: string, token = ''): Promise<string> {
  return page.evaluate(
    async ({ target, token }) => {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(32 * 1024)], { type: 'video/mp4' }), 'x.mp4');
      try {
        const res = await fetch(`${target}/api/vod`, {
          method: 'POST',
          body: form,
          ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
        });
        return String(res.status);
      } catch {
        return 'blocked';
      }
    },
    { target, token },
  );
}

/** In the page: a WHIP publish of the fake camera to `url`; the status and the connection state. */
function publishFromPage(page: Page, url: string, token = ''): Promise<{ status: string; state: string }> {
  return page.evaluate(
    async ({ url, token }) => {
      const media = await navigator.mediaDevices.getUserMedia({
        video: { width: 320, height: 180 },
        audio: true,
      });
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      for (const track of media.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise<void>((resolve) => {
        pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
        setTimeout(resolve, 2000);
      });
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/sdp',
            ...(token ? { Authorization: `Bearer ${token}` } : {}),
          },
          body: pc.localDescription!.sdp,
        });
      } catch {
        pc.close();
        for (const t of media.getTracks()) t.stop();
        return { status: 'blocked', state: pc.connectionState };
      }
      if (res.status === 201) {
        await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
        for (let i = 0; i < 50 && pc.connectionState !== 'connected'; i++)
          await new Promise((r) => setTimeout(r, 100));
      }
      const state = pc.connectionState;
      const location = res.headers.get('location');
      if (location)
        await fetch(new URL(location, url), {
          method: 'DELETE',
          headers: token ? { Authorization: `Bearer ${token}` } : {},
        });
      pc.close();
      for (const t of media.getTracks()) t.stop();
      return { status: String(res.status), state };
    },
    { url, token },
  );
}

/**
 * Issue 12, "cross-site and rebinding", in Chromium: the server's own pages work, a page
 * of another origin (`http://localhost:PORT` against `http://127.0.0.1:PORT`: another
 * host, so another origin and site) cannot upload or publish while no token guards the
 * server; with tokens, another site publishes with the token (CORS as documented).
 */
describe('Chromium: cross-site requests', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']);
  }, 60_000);
  afterAll(async () => browser?.close());

  describe('loopback mode (no tokens)', () => {
    let t: Started;
    let own: string;
    let other: string;

    beforeAll(async () => {
      t = await startTestService({ ROLES: 'api,ingest' });
      own = t.service.url;
      other = own.replace('127.0.0.1', 'localhost');
    }, 60_000);
    afterAll(async () => t?.close());

    const uploads = () => {
      const dir = path.join(t.dir, 'data', 'uploads');
      return existsSync(dir) ? readdirSync(dir) : [];
    };

    it('publishes from its own /publish page, and stops', async () => {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      try {
        await page.goto(`${own}/publish`);
        await page.locator('#stream').fill('own-page');
        await page.getByRole('button', { name: 'Start' }).click();
        await page.waitForFunction(
          () => document.getElementById('state')?.textContent === 'connected',
          undefined,
          {
            timeout: 20_000,
          },
        );
        await waitFor(
          'the stream to be live',
          async () => (await fetch(`${own}/api/streams/own-page`)).status === 200,
          10_000,
        );
        await page.getByRole('button', { name: 'Stop' }).click();
        await waitFor(
          'the stream to end',
          async () =>
            ((await (await fetch(`${own}/api/streams/own-page`)).json()) as { state: string }).state ===
            'ended',
          20_000,
        );
        expect(await page.locator('#status').textContent()).toBe('');
        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    }, 60_000);

    it('a page of another origin can neither upload nor publish; its own origin can', async () => {
      const page = await browser.newPage();
      try {
        await page.goto(`${other}/publish`);
        expect(await postUpload(page, own)).toBe('blocked');
        expect(await publishFromPage(page, `${own}/whip/xsite`)).toEqual({
          status: 'blocked',
          state: 'closed',
        });
        expect(uploads()).toEqual([]);
        expect(await fileJobs(own)).toEqual([]);
        expect((await fetch(`${own}/api/streams/xsite`)).status).toBe(404);
        // The same page publishes to its own origin (localhost is a loopback name).
        expect(await publishFromPage(page, `${other}/whip/xsite`)).toEqual({
          status: '201',
          state: 'connected',
        });
      } finally {
        await page.close();
      }
    }, 60_000);
  });

  describe('with tokens', () => {
    const API_TOKEN = 'browser-api-token-012345';
    const PUBLISH_TOKEN = 'browser-publish-token-0123';
    let t: Started;
    let own: string;
    let other: string;

    beforeAll(async () => {
      t = await startTestService({ ROLES: 'api,ingest', API_TOKEN, PUBLISH_TOKEN });
      own = t.service.url;
      other = own.replace('127.0.0.1', 'localhost');
    }, 60_000);
    afterAll(async () => t?.close());

    it('another origin publishes with the token (CORS *), and cannot upload without it', async () => {
      const page = await browser.newPage();
      try {
        await page.goto(`${other}/publish`);
        expect(await publishFromPage(page, `${own}/whip/studio`, PUBLISH_TOKEN)).toEqual({
          status: '201',
          state: 'connected',
        });
        expect(await publishFromPage(page, `${own}/whip/studio`)).toEqual({ status: '401', state: 'new' });
        expect(await postUpload(page, own)).toBe('blocked'); // 401 without CORS
        expect(await fileJobs(own)).toEqual([]);
      } finally {
        await page.close();
      }
    }, 60_000);
  });
});
