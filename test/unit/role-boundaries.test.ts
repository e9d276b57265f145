import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';

/**
 * ARCHITECTURE.md: each role is a folder with a small public surface (an index.ts); no
 * role reaches into another's internals. src/core holds what every role shares and may be
 * imported anywhere. The composition root (src/*.ts) uses the public surfaces too.
 */
const root = path.resolve(new URL('../../..', import.meta.url).pathname);
const src = path.join(root, 'src');
const ROLES = ['api', 'ingest', 'live', 'origin', 'packager', 'workers'];
/** Public surfaces beyond each role's own index.ts. */
const SURFACES = new Set(['packager/live/index.ts', 'packager/vod/index.ts']);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const roleOf = (rel: string): string | null => {
  const first = rel.split('/')[0]!;
  return ROLES.includes(first) ? first : first === 'core' ? 'core' : null;
};

describe('role boundaries', () => {
  it('every import of another role goes through its public surface', () => {
    const bad: string[] = [];
    for (const file of files(src)) {
      const rel = path.relative(src, file);
      const from = roleOf(rel);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)\.js'/g)) {
        const target = path.relative(src, path.resolve(path.dirname(file), `${m[1]!}.ts`));
        const to = roleOf(target);
        if (to === null || to === 'core' || to === from) continue;
        const surface = target === `${to}/index.ts` || SURFACES.has(target);
        if (!surface) bad.push(`${rel} imports ${target}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('no code outside src/core reads process.env', () => {
    const bad = files(src)
      .filter((f) => !f.startsWith(path.join(src, 'core') + path.sep))
      .filter((f) => /process\.env/.test(readFileSync(f, 'utf8')))
      .map((f) => path.relative(src, f));
    expect(bad).toEqual([]);
  });
});
