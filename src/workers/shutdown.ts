/**
 * The abort reason a worker gives its running jobs when its process shuts down
 * (SIGTERM): the job goes back to the queue for another worker, and a live job lets its
 * ffmpeg flush what it has read into the packager first, so the next worker continues
 * from the last part instead of losing the frames in flight.
 */
export const SHUTDOWN_REASON = 'worker shutting down';

export function isShutdown(reason: unknown): boolean {
  return reason === SHUTDOWN_REASON;
}
