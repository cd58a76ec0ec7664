// The dashboard's only way to the server: assayd's HTTP/JSON API and its Server-Sent Events, with
// the API key in the Authorization header (never in a URL). The key lives in sessionStorage: it is
// gone when the tab closes and other tabs do not see it.

const KEY_STORAGE = "assay.apiKey";

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}
export function storeKey(key: string): void {
  sessionStorage.setItem(KEY_STORAGE, key);
}
export function forgetKey(): void {
  sessionStorage.removeItem(KEY_STORAGE);
}

// A failed call: `status` is the HTTP status (0 when the server could not be reached), `message`
// the server's own words (they name the field at fault).
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
  get unauthenticated(): boolean {
    return this.status === 401;
  }
  get unreachable(): boolean {
    return this.status === 0;
  }
}

// What a page says when a call failed.
export function errorText(e: unknown): string {
  if (!(e instanceof ApiError)) return String(e);
  if (e.unreachable) return "The server did not answer. Is assayd running? (Retry with reload.)";
  if (e.status === 404) return `Not found: ${e.message}`;
  return e.message;
}

// Called once when the server answers 401 to a signed-in call (key revoked or wrong): the app
// signs out and says why.
let onUnauthenticated: (e: ApiError) => void = () => {};
export function setUnauthenticatedHandler(handler: (e: ApiError) => void): void {
  onUnauthenticated = handler;
}

function headers(key: string | null, extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { ...extra };
  if (key) h["Authorization"] = `Bearer ${key}`;
  return h;
}

async function errorOf(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && typeof body.message === "string") message = body.message;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, message);
}

// GET (no body) or POST (a body) `path` with the stored key; resolves to the parsed JSON reply.
export async function call<T>(path: string, body?: unknown, key: string | null = storedKey()): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: body === undefined ? "GET" : "POST",
      headers: headers(key, body === undefined ? {} : { "Content-Type": "application/json" }),
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "the server did not answer (is assayd running?)");
  }
  if (!response.ok) {
    const error = await errorOf(response);
    if (error.unauthenticated && key !== null && key === storedKey()) onUnauthenticated(error);
    throw error;
  }
  return (await response.json()) as T;
}

// Every page of a list call from `firstToken` on: `path` with pageSize and pageToken added;
// `items` picks the page's rows.
export async function callAll<Page extends { nextPageToken?: string }, Row>(
  path: string,
  items: (page: Page) => Row[] | undefined,
  pageSize = 1000,
  firstToken = "",
): Promise<Row[]> {
  const rows: Row[] = [];
  let token = firstToken;
  const sep = path.includes("?") ? "&" : "?";
  do {
    const page = await call<Page>(`${path}${sep}pageSize=${pageSize}&pageToken=${encodeURIComponent(token)}`);
    rows.push(...(items(page) ?? []));
    token = page.nextPageToken ?? "";
  } while (token !== "");
  return rows;
}

export interface Watch {
  close(): void;
}

// Follows an event stream (`path` ends in /events): `onUpdate` gets each message's parsed data in
// order. The stream is read with fetch (not EventSource, which cannot send the key in a header);
// after a dropped connection it reconnects with Last-Event-ID, so no message is missed or repeated.
// `onState` hears "live", "reconnecting" and "ended" (the server closed the stream after a final
// message); `onError` a server error event (the stream then ends). `after` (an event id, e.g. the
// revision a history was read at) starts the stream after that message instead of at the current
// state.
export function watch<T>(
  path: string,
  onUpdate: (message: T) => void,
  onState: (state: "live" | "reconnecting" | "ended") => void = () => {},
  onError: (e: ApiError) => void = () => {},
  after = "",
): Watch {
  const abort = new AbortController();
  let lastId = after;
  let closed = false;

  const run = async (): Promise<void> => {
    let delay = 500;
    while (!closed) {
      try {
        const extra: Record<string, string> = { Accept: "text/event-stream" };
        if (lastId !== "") extra["Last-Event-ID"] = lastId;
        const response = await fetch(path, { headers: headers(storedKey(), extra), signal: abort.signal, cache: "no-store" });
        if (!response.ok) {
          const error = await errorOf(response);
          if (error.unauthenticated) onUnauthenticated(error);
          onError(error);
          return;
        }
        onState("live");
        delay = 500;
        const finished = await readEvents(response, (id, event, data) => {
          if (id !== "") lastId = id;
          if (event === "error") {
            const body = JSON.parse(data);
            onError(new ApiError(503, body.message ?? "the stream failed"));
          } else {
            onUpdate(JSON.parse(data) as T);
          }
        });
        if (finished) {
          onState("ended");
          return;
        }
      } catch (e) {
        if (closed) return;
      }
      onState("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 8000);
    }
  };
  void run();
  return {
    close() {
      closed = true;
      abort.abort();
    },
  };
}

// Parses an SSE body; resolves true when the server ended the stream normally.
async function readEvents(response: Response, emit: (id: string, event: string, data: string) => void): Promise<boolean> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let sawError = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return !sawError;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let id = "";
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue; // heartbeat
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const v = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "id") id = v;
        else if (field === "event") event = v;
        else if (field === "data") data.push(v);
      }
      if (data.length === 0) continue;
      if (event === "error") sawError = true;
      emit(id, event, data.join("\n"));
    }
  }
}
