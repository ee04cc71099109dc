// The process that loads a config file for a reload: reads, parses and checks it and reads the
// certificate files it names, then hands back plain data and exits. Started by config-loader.ts;
// never imported.
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../config/config-error.js';
import { parseConfig, readConfigBytes } from '../config/load-config.js';
import type { Config } from '../config/types.js';
import {
  configDigest,
  type LoadReply,
  type LoadRequest,
  type LoaderUsage,
} from './config-loader.js';
import { configValidators } from '../proxy/config-validators.js';

// The yaml parser reads process.env.LOG_TOKENS for every token; in a plain copy that is a property
// read instead of a call into the environment, a quarter of the parse time of a big file.
process.env = { ...process.env };

/** Every certificate, key and CA file the config names. */
function tlsFiles(config: Config): Set<string> {
  const files = new Set<string>();
  const add = (...paths: (string | undefined)[]) => {
    for (const p of paths) if (p !== undefined) files.add(p);
  };
  for (const l of config.listeners) {
    add(l.tls?.certFile, l.tls?.keyFile, l.tls?.caFile);
    add(l.connect?.tls?.certFile, l.connect?.tls?.keyFile);
  }
  for (const c of config.clusters) add(c.tls?.caFile, c.tls?.certFile, c.tls?.keyFile);
  return files;
}

/** What this process has cost so far. */
function usage(): LoaderUsage {
  const r = process.resourceUsage();
  return {
    cpuMs: Math.round((r.userCPUTime + r.systemCPUTime) / 1000),
    // kilobytes on Linux and macOS alike in Node's report
    peakRssBytes: r.maxRSS * 1024,
  };
}

async function load(request: LoadRequest): Promise<LoadReply> {
  let digest: string | undefined;
  try {
    const bytes = await readConfigBytes(request.file);
    digest = await configDigest(bytes);
    process.send!({ kind: 'checking' } satisfies LoadReply);
    const config = parseConfig(bytes.toString('utf8'), request.file, {
      validators: configValidators,
    });
    // Read here, so the proxy does not read them on the loop that serves calls. One that cannot
    // be read now is left out: the proxy reads it itself and reports why it fails.
    const files = new Map<string, Uint8Array>();
    for (const path of tlsFiles(config)) {
      try {
        files.set(path, await readFile(path));
      } catch {
        // see above
      }
    }
    return { kind: 'loaded', config, digest, files, usage: usage() };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return {
      kind: 'invalid',
      digest,
      code: err.code,
      file: err.file,
      issues: err.issues,
      omitted: err.omitted,
      usage: usage(),
    };
  }
}

process.once('message', (request: LoadRequest) => {
  load(request).then(
    (reply) => process.send!(reply, () => process.disconnect()),
    (err: unknown) => {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      process.send!({ kind: 'failed', message } satisfies LoadReply, () => process.disconnect());
    },
  );
});
