/**
 * A local fake of the Hugging Face hub's file endpoint on 127.0.0.1 (HF_ENDPOINT):
 * `/<owner>/<repo>/resolve/<revision>/<path>`. Like the hub, LFS files answer with a redirect to
 * a CDN URL carrying X-Linked-Size and X-Linked-Etag (the file's sha256); small files are served
 * directly with a git ETag. The CDN honours Range requests (206 + Content-Range). A file can be
 * set to drop the connection after N bytes once (to leave a partial download), to advertise a
 * wrong sha256, or to ignore Range.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listenLocal, localOrigin } from '../shared/http.ts';

export interface HubFile {
  data: Buffer;
  /** Served like an LFS file (redirect + X-Linked-* headers). Default true. */
  lfs?: boolean;
  /** The sha256 the hub advertises (default: the real one). */
  advertisedSha256?: string;
  /** Drop the connection after this many body bytes, once. */
  cutAfter?: number;
  /** Answer 200 with the whole file even when asked for a range. */
  ignoreRange?: boolean;
}

export interface HubRequest {
  method: string;
  path: string;
  range: string | undefined;
  status: number;
}

export class FakeHub {
  readonly files = new Map<string, HubFile>();
  readonly requests: HubRequest[] = [];
  private server!: Server;

  get url(): string {
    return localOrigin(this.server);
  }

  static async start(): Promise<FakeHub> {
    const hub = new FakeHub();
    hub.server = createServer((req, res) => hub.handle(req, res));
    await listenLocal(hub.server);
    return hub;
  }

  async close(): Promise<void> {
    await closeServer(this.server);
  }

  /** Serve `data` as `<repo>/<path>`. */
  add(repo: string, path: string, data: Buffer | Uint8Array, options: Omit<HubFile, 'data'> = {}): void {
    this.files.set(`${repo}/${path}`, { data: Buffer.from(data), ...options });
  }

  /** Requests for the bytes of a file (GETs of the CDN or of a non-LFS resolve URL). */
  downloads(path: string): HubRequest[] {
    return this.requests.filter((r) => r.method === 'GET' && r.path.endsWith(path));
  }

  private record(req: IncomingMessage, path: string, status: number): void {
    this.requests.push({ method: req.method ?? 'GET', path, range: req.headers.range, status });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = decodeURIComponent(new URL(req.url ?? '/', this.url).pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (resolve) {
      const key = `${resolve[1]}/${resolve[3]}`;
      const file = this.files.get(key);
      if (!file) {
        this.record(req, path, 404);
        res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end('Entry not found');
        return;
      }
      if (file.lfs ?? true) {
        const sha = file.advertisedSha256 ?? createHash('sha256').update(file.data).digest('hex');
        this.record(req, path, 302);
        res
          .writeHead(302, {
            location: `/cdn/${encodeURIComponent(key)}`,
            'x-linked-size': String(file.data.length),
            'x-linked-etag': `"${sha}"`,
            etag: `"${sha}"`,
          })
          .end();
        return;
      }
      this.serve(req, res, path, file, `"${createHash('sha1').update(file.data).digest('hex')}"`);
      return;
    }
    const cdn = /^\/cdn\/(.+)$/.exec(path);
    const file = cdn ? this.files.get(cdn[1] as string) : undefined;
    if (cdn && file) {
      this.serve(req, res, path, file);
      return;
    }
    this.record(req, path, 404);
    res.writeHead(404).end('not found');
  }

  private serve(req: IncomingMessage, res: ServerResponse, path: string, file: HubFile, etag?: string): void {
    const total = file.data.length;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = 0;
    let status = 200;
    if (range && !file.ignoreRange) {
      start = Number(range[1]);
      if (start >= total) {
        this.record(req, path, 416);
        res.writeHead(416, { 'content-range': `bytes */${total}` }).end();
        return;
      }
      status = 206;
    }
    const body = file.data.subarray(start);
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'content-length': String(body.length),
      'accept-ranges': 'bytes',
      ...(etag ? { etag } : {}),
      ...(status === 206 ? { 'content-range': `bytes ${start}-${total - 1}/${total}` } : {}),
    };
    this.record(req, path, status);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (file.cutAfter !== undefined) {
      const cut = file.cutAfter;
      delete file.cutAfter;
      res.write(body.subarray(0, cut), () => {
        setTimeout(() => res.destroy(), 20);
      });
      return;
    }
    res.end(body);
  }
}
