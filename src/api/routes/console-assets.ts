import path from 'node:path';
import { Router } from 'express';

/**
 * Third-party files the console pages load, straight from node_modules like hls.js:
 * uPlot (the health charts), its minified build (51 KB), loaded only when the health
 * panel first opens.
 */
export function consoleAssetsRouter(root: string): Router {
  const r = Router();
  const uplot = path.join(root, 'node_modules', 'uplot', 'dist');
  r.get('/vendor/uplot.js', (_req, res) => res.sendFile(path.join(uplot, 'uPlot.iife.min.js')));
  r.get('/vendor/uplot.css', (_req, res) => res.sendFile(path.join(uplot, 'uPlot.min.css')));
  return r;
}
