/**
 * The worker role: BullMQ queues and job lifecycle, the ffmpeg process and its argument
 * builders, the worker registry. What the composition root and the API use.
 */
export { JobsClient, type JobsClientOptions } from './jobs-client.js';
export { probeCapabilities } from './ffmpeg/probe.js';
export { WorkerDirectory, type WorkersApi } from './worker-registry.js';
export type { JobsApi, VodRequest } from './jobs-api.js';
export { WorkerRole } from './worker-role.js';
export { makeStreamPoster } from './thumbnails.js';
