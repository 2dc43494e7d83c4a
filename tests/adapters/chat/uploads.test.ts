/**
 * Attached files are downloaded with a size cap and a timeout (adapters/providers/download.ts
 * underneath); what cannot be used comes back as a rejected file with a reason.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectUploads } from '../../../adapters/chat/shared/uploads.ts';
import { DownloadRedirectError } from '../../../adapters/providers/download.ts';
import {
  DownloadStatusError,
  DownloadTooLargeError,
  downloadCapped,
} from '../../../adapters/providers/index.ts';
import { closeServer, listenLocal, localOrigin } from '../../fakes/shared/http.ts';

const MB = 1024 * 1024;
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/small.png') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': '4' });
      res.end(Buffer.from([1, 2, 3, 4]));
    } else if (req.url === '/declared-big.png') {
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(2 * MB) });
      res.end(Buffer.alloc(2 * MB));
    } else if (req.url === '/streamed-big.png') {
      res.writeHead(200, { 'content-type': 'image/png' }); // chunked, no Content-Length
      for (let i = 0; i < 20; i++) res.write(Buffer.alloc(100_000));
      res.end();
    } else if (req.url === '/moved.png') {
      res.writeHead(302, { location: '/small.png' }).end();
    } else if (req.url === '/slow.png') {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.write(Buffer.alloc(10)); // and never ends
    } else {
      res.writeHead(404).end('missing');
    }
  });
  await listenLocal(server);
  base = localOrigin(server);
});
afterAll(async () => {
  await closeServer(server);
});

describe('downloadCapped', () => {
  it('returns the body', async () => {
    expect(await downloadCapped(`${base}/small.png`, { maxBytes: 10 })).toEqual(Buffer.from([1, 2, 3, 4]));
  });

  it('refuses an announced size over the cap before reading, and a streamed one while reading', async () => {
    const declared = await downloadCapped(`${base}/declared-big.png`, { maxBytes: MB }).catch((e) => e);
    expect(declared).toBeInstanceOf(DownloadTooLargeError);
    expect(declared).toMatchObject({ maxBytes: MB, declared: 2 * MB });
    const streamed = await downloadCapped(`${base}/streamed-big.png`, { maxBytes: MB }).catch((e) => e);
    expect(streamed).toBeInstanceOf(DownloadTooLargeError);
    expect(streamed).toMatchObject({ maxBytes: MB, declared: undefined });
  });

  it('follows a redirect by default, and refuses one when asked (credentials must not travel)', async () => {
    expect(await downloadCapped(`${base}/moved.png`, { maxBytes: 10 })).toEqual(Buffer.from([1, 2, 3, 4]));
    const err = await downloadCapped(`${base}/moved.png`, { maxBytes: 10, redirect: 'refuse' }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(DownloadRedirectError);
    expect(err).toMatchObject({ status: 302, location: '/small.png' });
  });

  it('gives HTTP errors with the unread response, and stops at the timeout', async () => {
    const err = await downloadCapped(`${base}/nothing.png`, { maxBytes: MB }).catch((e) => e);
    expect(err).toBeInstanceOf(DownloadStatusError);
    expect((err as DownloadStatusError).response.status).toBe(404);
    expect(await (err as DownloadStatusError).response.text()).toBe('missing');
    await expect(downloadCapped(`${base}/slow.png`, { maxBytes: MB, timeoutMs: 100 })).rejects.toThrow(
      /timeout|aborted/i,
    );
  });
});

describe('collectUploads', () => {
  it('keeps the images it could download and says why it rejected the others', async () => {
    const file = (name: string) => ({ name, url: `${base}/${name}`, contentType: 'image/png' });
    const out = await collectUploads(
      [file('small.png'), file('nothing.png'), file('declared-big.png'), file('streamed-big.png')],
      { maxBytes: MB },
    );
    expect(out.images).toEqual([{ name: 'small.png', data: Buffer.from([1, 2, 3, 4]) }]);
    expect(out.rejectedFiles).toEqual([
      { name: 'nothing.png', reason: 'I could not download it (HTTP 404)' },
      { name: 'declared-big.png', reason: 'I could not download it (larger than 1 MB)' },
      { name: 'streamed-big.png', reason: 'I could not download it (larger than 1 MB)' },
    ]);
  });

  it('sends credentials only to the trusted origins, and never follows a redirect with them', async () => {
    const credentials = {
      headers: { authorization: 'Bearer secret' },
      origins: [base],
      hostName: 'the file server',
    };
    const out = await collectUploads(
      [
        { name: 'small.png', url: `${base}/small.png`, contentType: 'image/png' },
        { name: 'moved.png', url: `${base}/moved.png`, contentType: 'image/png' },
        { name: 'other.png', url: 'http://127.0.0.2:9/other.png', contentType: 'image/png' },
        { name: 'nolink.png', url: '', contentType: 'image/png' },
      ],
      { credentials },
    );
    expect(out.images?.map((i) => i.name)).toEqual(['small.png']);
    expect(out.rejectedFiles).toEqual([
      {
        name: 'moved.png',
        reason: 'I could not download it (the file server answered with a redirect instead of the file)',
      },
      { name: 'other.png', reason: 'its link does not point to the file server, so I did not download it' },
      { name: 'nolink.png', reason: 'I was given no link I could download it from' },
    ]);
  });
});
