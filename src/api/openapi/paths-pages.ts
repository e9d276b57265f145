import { getOp, textResponse, type Json } from './operation.js';

/** The browser pages and what they load. */
export function pagesPaths(): Json {
  return {
    '/': {
      get: getOp('pages', 'playerPage', 'The player page (hls.js; WHEP as the low-latency option)', {
        '200': textResponse('HTML.', 'text/html'),
      }),
    },
    '/publish': {
      get: getOp('pages', 'publishPage', 'Publish a camera or screen over WHIP from the browser', {
        '200': textResponse('HTML.', 'text/html'),
      }),
    },
    '/player/style.css': {
      get: getOp('pages', 'pageStyles', 'Style sheet of the pages', {
        '200': textResponse('CSS.', 'text/css'),
      }),
    },
    '/vendor/hls.mjs': {
      get: getOp('pages', 'hlsJs', 'hls.js, as the player page loads it', {
        '200': textResponse('JavaScript module.', 'text/javascript'),
      }),
    },
  };
}
