import type { Storage, StoredObject } from '../../src/packager/storage/storage.js';

/** Storage in a Map, recording puts and deletes in order. */
export class MemoryStorage implements Storage {
  readonly objects = new Map<string, StoredObject>();
  readonly puts: string[] = [];
  readonly deletes: string[] = [];
  /** Keys read, in order. */
  readonly gets: string[] = [];

  async put(key: string, body: Uint8Array, contentType: string): Promise<void> {
    this.objects.set(key, { body: Buffer.from(body), contentType, modified: new Date() });
    this.puts.push(key);
  }
  async get(key: string): Promise<StoredObject | null> {
    this.gets.push(key);
    return this.objects.get(key) ?? null;
  }
  async delete(key: string): Promise<void> {
    this.objects.delete(key);
    this.deletes.push(key);
  }
  async deleteAsset(assetId: string): Promise<void> {
    for (const k of [...this.objects.keys()]) if (k.startsWith(`${assetId}/`)) this.objects.delete(k);
  }
  async close(): Promise<void> {}
  text(key: string): string {
    const o = this.objects.get(key);
    if (!o) throw new Error(`no ${key} in storage`);
    return o.body.toString();
  }
  has(key: string): boolean {
    return this.objects.has(key);
  }
}
