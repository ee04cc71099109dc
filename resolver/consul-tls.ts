// TLS for Consul's HTTPS API, from the variables Consul's own tools read: the CA that signed
// the agent's certificate (CONSUL_CACERT), a client certificate and key for an agent with
// verify_incoming (CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY), the name the agent's certificate
// must carry (CONSUL_TLS_SERVER_NAME), and CONSUL_HTTP_SSL_VERIFY=false to skip the check.
import { readFileSync, statSync } from 'node:fs';
import { describeError } from '../common/errors.js';
import { ResolverOptionsError } from './errors.js';

/** As node:tls and node:https agents take them. */
export interface ConsulTlsSettings {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly servername?: string;
  readonly rejectUnauthorized: boolean;
}

const FILES = ['CONSUL_CACERT', 'CONSUL_CLIENT_CERT', 'CONSUL_CLIENT_KEY'] as const;
type FileVariable = (typeof FILES)[number];

/**
 * The files are read when the resolver is made, and again before a query once one of them
 * changed on disk (its inode, size or modification time): a short-lived client certificate
 * that an agent such as Vault's renews is used from the next query on, without a reload.
 */
export class ConsulTls {
  private current: ConsulTlsSettings;
  private stamp: string;

  private constructor(
    private readonly paths: Readonly<Partial<Record<FileVariable, string>>>,
    private readonly fixed: Pick<ConsulTlsSettings, 'servername' | 'rejectUnauthorized'>,
    first: Readonly<Partial<Record<FileVariable, Buffer>>>,
  ) {
    this.stamp = this.stampNow();
    this.current = this.build(first);
  }

  /**
   * Reads the variables and their files; throws ResolverOptionsError naming each variable at
   * fault (a file that cannot be read, a certificate without its key).
   */
  static fromEnv(target: string, env: Readonly<Record<string, string | undefined>>): ConsulTls {
    const problems: { path: string; message: string }[] = [];
    const paths: Partial<Record<FileVariable, string>> = {};
    const contents: Partial<Record<FileVariable, Buffer>> = {};
    for (const name of FILES) {
      const file = env[name];
      if (file === undefined || file === '') continue;
      paths[name] = file;
      try {
        contents[name] = readFileSync(file);
      } catch (err) {
        problems.push({ path: name, message: `cannot read ${file}: ${describeError(err)}` });
      }
    }
    const hasCert = paths.CONSUL_CLIENT_CERT !== undefined;
    if (hasCert !== (paths.CONSUL_CLIENT_KEY !== undefined)) {
      problems.push({
        path: hasCert ? 'CONSUL_CLIENT_KEY' : 'CONSUL_CLIENT_CERT',
        message: `is needed with ${hasCert ? 'CONSUL_CLIENT_CERT' : 'CONSUL_CLIENT_KEY'}`,
      });
    }
    if (problems.length > 0) throw new ResolverOptionsError(target, problems);
    const servername = env.CONSUL_TLS_SERVER_NAME || undefined;
    return new ConsulTls(
      paths,
      {
        ...(servername !== undefined ? { servername } : {}),
        rejectUnauthorized: !/^(0|false)$/i.test(env.CONSUL_HTTP_SSL_VERIFY ?? ''),
      },
      contents,
    );
  }

  /**
   * The settings now: the same object while no file changed. A changed set that cannot be read
   * whole (a file replaced mid-way) keeps the last good settings, and is tried again next time.
   */
  settings(): ConsulTlsSettings {
    const stamp = this.stampNow();
    if (stamp === this.stamp) return this.current;
    const contents: Partial<Record<FileVariable, Buffer>> = {};
    try {
      for (const name of FILES) {
        const file = this.paths[name];
        if (file !== undefined) contents[name] = readFileSync(file);
      }
    } catch {
      return this.current;
    }
    this.stamp = stamp;
    this.current = this.build(contents);
    return this.current;
  }

  private build(contents: Readonly<Partial<Record<FileVariable, Buffer>>>): ConsulTlsSettings {
    const { CONSUL_CACERT: ca, CONSUL_CLIENT_CERT: cert, CONSUL_CLIENT_KEY: key } = contents;
    return {
      ...(ca !== undefined ? { ca } : {}),
      ...(cert !== undefined && key !== undefined ? { cert, key } : {}),
      ...this.fixed,
    };
  }

  /** Inode, size and modification time of each file; "-" for one that is gone. */
  private stampNow(): string {
    let stamp = '';
    for (const name of FILES) {
      const file = this.paths[name];
      if (file === undefined) continue;
      try {
        const s = statSync(file);
        stamp += `${s.ino}:${s.size}:${s.mtimeMs};`;
      } catch {
        stamp += '-;';
      }
    }
    return stamp;
  }
}
