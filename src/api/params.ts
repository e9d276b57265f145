import type { Request } from 'express';

/** A named path parameter as a string ('' when absent; express 5 types allow arrays for wildcards). */
export function param(req: Request, name: string): string {
  const v: unknown = req.params[name];
  return typeof v === 'string' ? v : '';
}
