/**
 * The fetch the console gives the SDK. Every request goes to the browser's fetch unchanged, except the
 * data upload (`POST /v1/sessions/:id/data`): fetch cannot report upload progress, so that one request is
 * sent with XMLHttpRequest and its progress reported to whoever listens (the contribute panel). The bytes
 * sent are exactly the SDK's: the envelope it sealed in this page.
 */
export interface UploadProgress {
  loaded: number;
  total: number;
}

type UploadListener = (progress: UploadProgress) => void;

const listeners = new Set<UploadListener>();

/** Listens to data uploads until the returned function is called. */
export function onUploadProgress(listener: UploadListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const UPLOAD_PATH = /\/v1\/sessions\/[^/]+\/data$/;

function isUpload(input: RequestInfo | URL, init: RequestInit | undefined): boolean {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  return method === 'POST' && UPLOAD_PATH.test(new URL(url, window.location.href).pathname) && init?.body instanceof Uint8Array;
}

function sendWithProgress(url: string, init: RequestInit): Promise<Response> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.responseType = 'arraybuffer';
    new Headers(init.headers).forEach((value, name) => xhr.setRequestHeader(name, value));
    const body = init.body as Uint8Array;
    const notify = (loaded: number, total: number): void => listeners.forEach((listener) => listener({ loaded, total }));
    notify(0, body.byteLength);
    xhr.upload.onprogress = (event) => notify(event.loaded, event.lengthComputable ? event.total : body.byteLength);
    xhr.upload.onload = () => notify(body.byteLength, body.byteLength);
    xhr.onload = () => {
      const headers = new Headers();
      for (const line of xhr.getAllResponseHeaders().trim().split(/[\r\n]+/)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      }
      resolve(new Response(xhr.status === 204 ? null : xhr.response, { status: xhr.status, statusText: xhr.statusText, headers }));
    };
    xhr.onerror = () => reject(new TypeError('the upload failed: network error'));
    xhr.onabort = () => reject(init.signal?.reason ?? new DOMException('The upload was aborted', 'AbortError'));
    init.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(new Blob([body as Uint8Array<ArrayBuffer>]));
  });
}

export const consoleFetch: typeof fetch = (input, init) => {
  if (listeners.size > 0 && init !== undefined && isUpload(input, init)) {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    return sendWithProgress(url, init);
  }
  return globalThis.fetch(input, init);
};
