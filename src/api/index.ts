/** The API role: the HTTP edge (routes parse, call a role through its interface, answer). */
export { createApp, createRequestListener, type ApiDeps } from './app.js';
export { UploadSweeper, uploadDirOf } from './uploads.js';
