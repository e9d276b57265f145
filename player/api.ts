/**
 * Calls to the REST API from the console: the API token (API_TOKEN, needed for
 * changes when the server has one) is kept for this tab only, and every error body
 * (`{"error": {"code", "message", "field"}}`) becomes an ApiError naming the field.
 */

const TOKEN_KEY = 'whipcast.apiToken';

export function apiToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function setApiToken(token: string): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage refused (private mode): the token lives as long as the field
  }
}

export function authHeaders(): Record<string, string> {
  const t = apiToken();
  return t ? { authorization: `Bearer ${t}` } : {};
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** The request field at fault as a dotted path (`ladder.0.width`), when the API names one. */
  readonly field: string | undefined;

  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** The ApiError of a failed answer's body (JSON or text). */
export function errorOf(status: number, text: string): ApiError {
  try {
    const body = JSON.parse(text) as { error?: { code?: string; message?: string; field?: string } };
    if (body.error?.message) {
      return new ApiError(status, body.error.code ?? 'error', body.error.message, body.error.field);
    }
  } catch {
    // not JSON
  }
  return new ApiError(status, 'error', text.trim() || `HTTP ${status}`);
}

/** Tells the page a change was refused for want of the API token (the header then asks for it). */
function unauthorized(e: ApiError): void {
  if (e.status === 401) document.dispatchEvent(new CustomEvent('whipcast:needs-token'));
}

/** A JSON call; resolves with the body (null for 204), rejects with an ApiError. */
export async function api<T>(method: string, url: string, body?: unknown): Promise<T> {
  const res = await fetch(url, {
    method,
    headers: { ...authHeaders(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) {
    const e = errorOf(res.status, text);
    unauthorized(e);
    throw e;
  }
  return (text ? JSON.parse(text) : null) as T;
}

/**
 * A multipart upload with progress (fetch reports none for request bodies; XHR does).
 * `abort` cancels it; the promise then rejects with an ApiError `aborted`.
 */
export function upload<T>(
  url: string,
  form: FormData,
  onProgress: (sent: number, total: number) => void,
): { done: Promise<T>; abort: () => void } {
  const xhr = new XMLHttpRequest();
  const done = new Promise<T>((resolve, reject) => {
    xhr.open('POST', url);
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve(JSON.parse(xhr.responseText) as T);
      const e = errorOf(xhr.status, xhr.responseText);
      unauthorized(e);
      reject(e);
    });
    xhr.addEventListener('error', () =>
      reject(new ApiError(0, 'network', 'the upload failed: network error')),
    );
    xhr.addEventListener('abort', () => reject(new ApiError(0, 'aborted', 'upload cancelled')));
    xhr.send(form);
  });
  return { done, abort: () => xhr.abort() };
}
