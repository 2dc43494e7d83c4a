/**
 * `genir models fetch <name> [--quantized]`: download a known encoder model from the Hugging Face
 * hub (HF_ENDPOINT) into models/<name>/, with a progress bar, a size and sha256 check, resume of a
 * partial download (HTTP Range), and a clear message when the hub cannot be reached. Writes the
 * encoder JSON configs next to the models and prints the .env lines that use them.
 *
 * Checksums: the registry holds expected sizes/sha256 only where they are known; otherwise the
 * hub's own LFS headers are used (X-Linked-Size, and X-Linked-Etag, which is the file's sha256
 * for LFS files). Files with neither are marked "unchecked" in models/<name>/manifest.json, with
 * the sha256 computed here, so a later fetch can tell if they changed.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import cliProgress from 'cli-progress';
import { defaultConfigPath } from '../adapters/encode/onnx/encoder.ts';
import type { Progress } from '../adapters/progress/index.ts';
import { networkCode } from '../adapters/providers/errors.ts';
import { type FileRole, MODEL_REGISTRY, type ModelSpec } from './model-registry.ts';

export { type FileRole, MODEL_REGISTRY, type ModelFileSpec, type ModelSpec } from './model-registry.ts';

export class ModelFetchError extends Error {
  override readonly name = 'ModelFetchError';
}

export type Verification = 'registry' | 'hub' | 'unchecked';

export interface FetchedFile {
  role: FileRole;
  path: string;
  bytes: number;
  sha256: string;
  /** Where the expected sha256 came from. */
  verified: Verification;
  /** Already present and matching: not downloaded again. */
  skipped: boolean;
  /** Continued from a partial download. */
  resumedFrom?: number;
}

export interface FetchResult {
  dir: string;
  files: FetchedFile[];
  /** Lines for .env. */
  env: string[];
}

export interface FetchOptions {
  name: string;
  quantized?: boolean;
  /** MODELS_DIR (default "models"). */
  modelsDir?: string;
  /** HF_ENDPOINT (default https://huggingface.co). */
  endpoint?: string;
  /** A progress bar per file (bytes). */
  progress?: (file: string) => Progress;
  log?: (line: string) => void;
  fetch?: typeof fetch;
  registry?: Record<string, ModelSpec>;
  /** HF token for gated/private repositories (HF_TOKEN). */
  token?: string | undefined;
}

const SHA256 = /^[0-9a-f]{64}$/;

const fileSize = (path: string) =>
  stat(path).then(
    (s) => s.size,
    () => -1,
  );

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** A progress bar in MB, on stderr. */
export function bytesProgress(file: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const bar = new cliProgress.SingleBar(
    {
      format: `${file} [{bar}] {percentage}% | {doneMb}/{totalMb} MB | {speed} MB/s`,
      stream,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let t0 = 0;
  let total = 0;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  return {
    start(t) {
      t0 = performance.now();
      total = t;
      bar.start(Math.max(1, t), 0, { doneMb: '0.0', totalMb: mb(t), speed: '0.0' });
    },
    update(done) {
      const seconds = (performance.now() - t0) / 1000;
      bar.update(Math.min(done, Math.max(1, total)), {
        doneMb: mb(done),
        totalMb: mb(total),
        speed: seconds > 0 ? mb(done / seconds) : '0.0',
      });
    },
    stop() {
      bar.stop();
    },
  };
}

interface Remote {
  /** Where to GET the bytes (after the hub's redirect). */
  url: string;
  size: number | undefined;
  sha256: string | undefined;
}

export async function fetchModel(options: FetchOptions): Promise<FetchResult> {
  const registry = options.registry ?? MODEL_REGISTRY;
  const spec = registry[options.name];
  if (!spec) {
    throw new ModelFetchError(
      `Unknown model "${options.name}". Known models:\n${Object.values(registry)
        .map((m) => `  ${m.name} — ${m.description}`)
        .join('\n')}`,
    );
  }
  const endpoint = (options.endpoint ?? 'https://huggingface.co').replace(/\/+$/, '');
  const dir = join(options.modelsDir ?? 'models', spec.name);
  await mkdir(dir, { recursive: true });
  const log = options.log ?? (() => {});
  const manifestPath = join(dir, 'manifest.json');
  const previous = await readManifest(manifestPath);
  const files: FetchedFile[] = [];
  for (const file of spec.files) {
    const repoPath = options.quantized && file.quantizedPath ? file.quantizedPath : file.path;
    const expected = {
      size: options.quantized && file.quantizedPath ? file.quantizedSize : file.size,
      sha256: options.quantized && file.quantizedPath ? file.quantizedSha256 : file.sha256,
    };
    const target = join(dir, basename(repoPath));
    const url = `${endpoint}/${spec.repo}/resolve/${encodeURIComponent(spec.revision)}/${repoPath}`;
    const fetched = await fetchFile({
      url,
      target,
      role: file.role,
      expected,
      previousSha: previous[basename(repoPath)],
      options,
      spec,
      endpoint,
    });
    log(
      `${fetched.skipped ? 'present ' : 'fetched '} ${target} (${(fetched.bytes / 1e6).toFixed(1)} MB, sha256 ${fetched.sha256.slice(0, 12)}…, ${fetched.verified === 'unchecked' ? 'unchecked: no published checksum' : `checked against the ${fetched.verified}`})`,
    );
    files.push(fetched);
  }
  await writeFile(
    manifestPath,
    `${JSON.stringify(
      {
        model: spec.name,
        repo: spec.repo,
        revision: spec.revision,
        quantized: options.quantized ?? false,
        files: files.map((f) => ({
          file: basename(f.path),
          bytes: f.bytes,
          sha256: f.sha256,
          verified: f.verified,
        })),
      },
      null,
      2,
    )}\n`,
  );
  return { dir, files, env: await writeConfigs(spec, files, options.quantized ?? false) };
}

async function readManifest(path: string): Promise<Record<string, string>> {
  try {
    const json = JSON.parse(await readFile(path, 'utf8')) as { files?: { file: string; sha256: string }[] };
    return Object.fromEntries((json.files ?? []).map((f) => [f.file, f.sha256]));
  } catch {
    return {};
  }
}

/** The encoder configs next to the models, and the .env lines that point at them. */
async function writeConfigs(spec: ModelSpec, files: FetchedFile[], quantized: boolean): Promise<string[]> {
  const id = `${spec.name}${quantized ? '-quantized' : ''}`;
  const env: string[] = [];
  const vision = files.find((f) => f.role === 'vision');
  const text = files.find((f) => f.role === 'text');
  const tokenizer = files.find((f) => f.role === 'tokenizer');
  if (vision) {
    const config = {
      id,
      dim: spec.dim,
      inputName: 'pixel_values',
      outputName: 'image_embeds',
      preprocessing: spec.preprocessing,
    };
    await writeFile(defaultConfigPath(vision.path), `${JSON.stringify(config, null, 2)}\n`);
    env.push(`ENCODER_MODEL=${vision.path}`);
  }
  if (text) {
    const config = {
      id: `${id}-text`,
      dim: spec.dim,
      inputName: 'input_ids',
      attentionMaskName: 'attention_mask',
      outputName: 'text_embeds',
      maxLength: spec.maxLength,
    };
    await writeFile(defaultConfigPath(text.path), `${JSON.stringify(config, null, 2)}\n`);
    env.push(`ENCODER_TEXT_MODEL=${text.path}`);
  }
  if (tokenizer) env.push(`ENCODER_TOKENIZER=${tokenizer.path}`);
  return env;
}

interface FileJob {
  url: string;
  target: string;
  role: FileRole;
  expected: { size: number | undefined; sha256: string | undefined };
  previousSha: string | undefined;
  options: FetchOptions;
  spec: ModelSpec;
  endpoint: string;
}

function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

function offlineError(job: FileJob, err: unknown): ModelFetchError {
  const cause = (err as { cause?: { message?: string } }).cause?.message;
  const code = networkCode(err) ?? cause ?? (err as Error).message;
  const urls = job.spec.files.map(
    (f) =>
      `  ${job.endpoint}/${job.spec.repo}/resolve/${job.spec.revision}/${job.options.quantized && f.quantizedPath ? f.quantizedPath : f.path}`,
  );
  return new ModelFetchError(
    `Cannot reach ${job.endpoint} (${code}): this machine seems to be offline, or the hub is blocked.\n` +
      `Nothing was downloaded. Either run this again with a connection (HF_ENDPOINT sets a mirror), or download these\n` +
      `files elsewhere and copy them into ${join(job.options.modelsDir ?? 'models', job.spec.name)}/:\n${urls.join('\n')}\n` +
      `then run "genir models fetch ${job.spec.name}${job.options.quantized ? ' --quantized' : ''}" once more: files already there are kept.`,
  );
}

/** HEAD the resolve URL without following the redirect: the hub puts LFS size/sha256 on it. */
async function probe(job: FileJob): Promise<Remote> {
  const doFetch = job.options.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(job.url, {
      method: 'HEAD',
      redirect: 'manual',
      headers: authHeaders(job.options.token),
    });
  } catch (err) {
    throw offlineError(job, err);
  }
  if (res.status === 401 || res.status === 403) {
    throw new ModelFetchError(
      `${job.url}: access denied (HTTP ${res.status}); a gated model needs HF_TOKEN.`,
    );
  }
  if (res.status === 404) throw new ModelFetchError(`${job.url}: not found on the hub (HTTP 404).`);
  if (res.status >= 400) throw new ModelFetchError(`${job.url}: the hub answered HTTP ${res.status}.`);
  const linkedSize = Number(res.headers.get('x-linked-size'));
  const length = Number(res.headers.get('content-length'));
  const etag = (res.headers.get('x-linked-etag') ?? '').replace(/^W\//, '').replace(/"/g, '').toLowerCase();
  const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
  return {
    url: location ? new URL(location, job.url).toString() : job.url,
    size: linkedSize > 0 ? linkedSize : res.status === 200 && length > 0 ? length : undefined,
    sha256: SHA256.test(etag) ? etag : undefined,
  };
}

async function fetchFile(job: FileJob): Promise<FetchedFile> {
  const { target, role } = job;
  let remote: Remote;
  try {
    remote = await probe(job);
  } catch (err) {
    // Offline, but the file is already here (copied by hand, or fetched before): keep it.
    const have = await fileSize(target);
    if (err instanceof ModelFetchError && have > 0 && /Cannot reach/.test(err.message)) {
      const sha256 = await sha256Of(target);
      const want = job.expected.sha256;
      if (want && want !== sha256)
        throw new ModelFetchError(`${target}: sha256 ${sha256} is not the expected ${want}.`);
      return {
        role,
        path: target,
        bytes: have,
        sha256,
        verified: want ? 'registry' : 'unchecked',
        skipped: true,
      };
    }
    throw err;
  }
  const size = job.expected.size ?? remote.size;
  const wantSha = job.expected.sha256 ?? remote.sha256;
  const verified: Verification = job.expected.sha256 ? 'registry' : remote.sha256 ? 'hub' : 'unchecked';

  const have = await fileSize(target);
  if (have >= 0 && (size === undefined || have === size)) {
    const sha256 = await sha256Of(target);
    const matches = wantSha
      ? sha256 === wantSha
      : job.previousSha === undefined || job.previousSha === sha256;
    if (matches) return { role, path: target, bytes: have, sha256, verified, skipped: true };
  }
  return download(job, remote, size, wantSha, verified);
}

async function download(
  job: FileJob,
  remote: Remote,
  size: number | undefined,
  wantSha: string | undefined,
  verified: Verification,
): Promise<FetchedFile> {
  const { target, role } = job;
  const part = `${target}.part`;
  let offset = Math.max(0, await fileSize(part));
  if (size !== undefined && offset > size) {
    await rm(part, { force: true });
    offset = 0;
  }
  const doFetch = job.options.fetch ?? fetch;
  const hash = createHash('sha256');
  let res: Response | null = null;
  if (size !== undefined && offset === size) {
    // the partial file is already whole (the rename did not happen): just check it
  } else {
    try {
      res = await doFetch(remote.url, {
        headers: { ...authHeaders(job.options.token), ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) },
      });
    } catch (err) {
      throw offlineError(job, err);
    }
    if (res.status === 416 && size !== undefined && offset === size) {
      res = null;
    } else if (res.status === 200 && offset > 0) {
      offset = 0; // the server ignored the range: start again
    } else if (res.status === 206) {
      const start = Number(/bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1]);
      if (start !== offset) {
        await res.body?.cancel().catch(() => {});
        throw new ModelFetchError(
          `${job.url}: the hub resumed at byte ${start}, not ${offset}; delete ${part} and try again.`,
        );
      }
    } else if (!res.ok) {
      throw new ModelFetchError(`${job.url}: download failed (HTTP ${res.status}).`);
    }
  }
  const resumedFrom = offset;
  if (offset > 0) {
    await pipeline(
      createReadStream(part, { end: offset - 1 }),
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          cb();
        },
      }),
    );
  }

  const declared = res ? Number(res.headers.get('content-length') || 0) : 0;
  const total = size ?? offset + declared;
  const progress = job.options.progress?.(basename(target));
  progress?.start(total);
  let done = offset;
  progress?.update(done);
  if (res?.body) {
    // Each chunk is written before the next is read, so an interrupted download leaves on disk
    // exactly the bytes it counted, and the next run resumes from there.
    const file = await open(part, offset > 0 ? 'a' : 'w');
    try {
      for await (const chunk of Readable.fromWeb(res.body as Parameters<typeof Readable.fromWeb>[0])) {
        await file.write(chunk as Buffer);
        hash.update(chunk as Buffer);
        done += (chunk as Buffer).length;
        progress?.update(done);
      }
    } catch (err) {
      progress?.stop();
      throw new ModelFetchError(
        `The download of ${basename(target)} was interrupted after ${(done / 1e6).toFixed(1)} MB (${networkCode(err) ?? (err as Error).message}). ` +
          'Run the same command again to resume from there.',
      );
    } finally {
      await file.close();
    }
  }
  progress?.stop();
  const bytes = await fileSize(part);
  if (size !== undefined && bytes !== size) {
    throw new ModelFetchError(
      `${basename(target)}: got ${bytes} bytes, expected ${size}. The partial file is kept; run the same command again to resume.`,
    );
  }
  const sha256 = hash.digest('hex');
  if (wantSha && sha256 !== wantSha) {
    await rm(part, { force: true });
    throw new ModelFetchError(
      `${basename(target)}: sha256 mismatch (expected ${wantSha}, got ${sha256}). The download was deleted; run the command again.`,
    );
  }
  await rename(part, target);
  return {
    role,
    path: target,
    bytes,
    sha256,
    verified,
    skipped: false,
    ...(resumedFrom > 0 ? { resumedFrom } : {}),
  };
}

/** The CLI command: prints progress and the .env lines; returns the exit code. */
export async function modelsFetchCommand(
  name: string,
  options: { quantized?: boolean; modelsDir: string; endpoint: string; token?: string | undefined },
  io: {
    out?: (line: string) => void;
    err?: (line: string) => void;
    progress?: (file: string) => Progress;
  } = {},
): Promise<number> {
  const out = io.out ?? ((l: string) => console.log(l));
  const err = io.err ?? ((l: string) => console.error(l));
  try {
    const result = await fetchModel({
      name,
      quantized: options.quantized ?? false,
      modelsDir: options.modelsDir,
      endpoint: options.endpoint,
      token: options.token,
      progress: io.progress ?? ((file) => bytesProgress(file)),
      log: err,
    });
    out(`\n${name} is ready in ${result.dir}. Add these lines to .env:\n`);
    for (const line of result.env) out(line);
    out('\nThen rebuild the gallery index with this encoder (the index remembers which encoder made it).');
    return 0;
  } catch (e) {
    err(e instanceof ModelFetchError ? e.message : `genir models fetch: ${(e as Error).message}`);
    return 1;
  }
}
