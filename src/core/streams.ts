/** What the API needs of the ingest role (live streams); the live issue fills it in. */
export interface StreamView {
  id: string;
  state: 'live' | 'ended';
  startedAt: string;
  playlistUrl: string;
}

export interface IngestApi {
  list(): StreamView[];
  get(id: string): StreamView | null;
}

/** A process without the ingest role knows no live streams. */
export const NO_INGEST: IngestApi = { list: () => [], get: () => null };
