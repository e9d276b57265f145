/**
 * Where packaged media lives. Keys are `{assetId}/{name}`: flat names the packager
 * chose (`720p.m3u8`, `720p_init.mp4`, `720p_12.m4s`, `index.m3u8`). Local disk now, S3 later.
 */
export interface StoredObject {
  body: Buffer;
  contentType: string;
  /** Last write time, for Last-Modified. */
  modified: Date;
}

export interface Storage {
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  /** null when the key was never written (or is not a valid key). */
  get(key: string): Promise<StoredObject | null>;
  /**
   * Remove one key; a key that does not exist (or is not a valid key) is not an error.
   * Live packaging deletes parts and segments that left the playlist window.
   */
  delete(key: string): Promise<void>;
  /** Remove every key under `{assetId}/`. */
  deleteAsset(assetId: string): Promise<void>;
  close(): Promise<void>;
}
