// The three proxies of the TLS benchmark, each configured the same way with and without TLS on
// its listener (h2c to the backends either way): switchyard from a YAML config, nginx with one
// worker and HAProxy with one thread, set up as ../shared/bench/compare sets them up for h2c.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUNTIME_FLAGS } from '../bin/runtime-flags.js';
import { SWITCHYARD_JS } from './proxy-process.js';
import type { BenchCerts } from './tls-certs.js';

export type ProxyName = 'switchyard' | 'nginx' | 'haproxy';
export const PROXY_NAMES: readonly ProxyName[] = ['switchyard', 'nginx', 'haproxy'];

export interface ProxyLaunch {
  readonly command: string;
  readonly args: readonly string[];
}

const NGINX = '/usr/sbin/nginx';
const HAPROXY = '/usr/sbin/haproxy';

function binaryOf(name: ProxyName): string {
  return name === 'nginx' ? NGINX : name === 'haproxy' ? HAPROXY : process.execPath;
}

/** The proxy's version line, or undefined when it is not installed. */
export function proxyVersion(name: ProxyName): string | undefined {
  if (name === 'switchyard') return `switchyard on Node.js ${process.version}`;
  try {
    // nginx -v writes to stderr; HAProxy -v to stdout.
    const out = execFileSync('sh', ['-c', `"${binaryOf(name)}" -v 2>&1`], { encoding: 'utf8' });
    return out.trim().split('\n')[0];
  } catch {
    return undefined;
  }
}

function switchyardConfig(port: number, backends: readonly string[], certs?: BenchCerts): string {
  return [
    'listeners:',
    `  - address: 127.0.0.1:${port}`,
    ...(certs === undefined
      ? []
      : ['    tls:', `      cert: ${certs.cert}`, `      key: ${certs.key}`]),
    'workers: 1',
    'clusters:',
    '  bench:',
    `    target: static:///${backends.join(',')}`,
    'log:',
    '  level: warn',
    '',
  ].join('\n');
}

function nginxConfig(
  dir: string,
  port: number,
  backends: readonly string[],
  certs?: BenchCerts,
): string {
  // nginx 1.22 (Debian 12) turns HTTP/2 on with `listen ... http2` (`http2 on;` is 1.25+), and
  // its default ssl_protocols leave TLS 1.3 out: named here so all three proxies speak TLS 1.3.
  const listen =
    certs === undefined
      ? `listen 127.0.0.1:${port} http2;`
      : [
          `listen 127.0.0.1:${port} ssl http2;`,
          `    ssl_certificate ${certs.cert};`,
          `    ssl_certificate_key ${certs.key};`,
          '    ssl_protocols TLSv1.2 TLSv1.3;',
        ].join('\n');
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/nginx-tmp/body;
  proxy_temp_path ${dir}/nginx-tmp/proxy;
  fastcgi_temp_path ${dir}/nginx-tmp/fastcgi;
  uwsgi_temp_path ${dir}/nginx-tmp/uwsgi;
  scgi_temp_path ${dir}/nginx-tmp/scgi;
  # The default (1000) would send GOAWAY after 1,000 calls on a connection; h2load does not reconnect.
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  upstream grpc_backends {
    ${backends.map((b) => `server ${b};`).join('\n    ')}
    # nginx does not multiplex upstream HTTP/2: one connection per call in flight, kept for reuse.
    keepalive 512;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
  }
  server {
    ${listen}
    location / {
      grpc_pass grpc://grpc_backends;
    }
  }
}
`;
}

function haproxyConfig(port: number, backends: readonly string[], certs?: BenchCerts): string {
  const bind =
    certs === undefined
      ? `bind 127.0.0.1:${port} proto h2`
      : `bind 127.0.0.1:${port} ssl crt ${certs.combined} alpn h2`;
  return `global
  nbthread 1
  # HAProxy derives its fd limit from maxconn; 4096 stays under common hard limits.
  maxconn 4096

defaults
  mode http
  timeout connect 5s
  timeout client 300s
  timeout server 300s

frontend grpc_in
  ${bind}
  default_backend grpc_backends

backend grpc_backends
  balance roundrobin
  # One multiplexed HTTP/2 connection per backend, like a gRPC channel (the default 'safe'
  # opened about one per call in flight).
  http-reuse always
${backends.map((b, i) => `  server b${i + 1} ${b} proto h2`).join('\n')}
`;
}

/**
 * Writes `name`'s config into `dir` (TLS on the listener when `certs` is given) and says how to
 * start it in the foreground.
 */
export function proxyLaunch(
  name: ProxyName,
  dir: string,
  port: number,
  backends: readonly string[],
  certs?: BenchCerts,
): ProxyLaunch {
  const mode = certs === undefined ? 'h2c' : 'tls';
  if (name === 'switchyard') {
    const file = join(dir, `switchyard-${mode}.yaml`);
    writeFileSync(file, switchyardConfig(port, backends, certs));
    return { command: process.execPath, args: [...RUNTIME_FLAGS, SWITCHYARD_JS, '--config', file] };
  }
  if (name === 'nginx') {
    mkdirSync(join(dir, 'nginx-tmp'), { recursive: true });
    const file = join(dir, `nginx-${mode}.conf`);
    writeFileSync(file, nginxConfig(dir, port, backends, certs));
    return { command: NGINX, args: ['-e', join(dir, 'nginx-error.log'), '-p', dir, '-c', file] };
  }
  const file = join(dir, `haproxy-${mode}.cfg`);
  writeFileSync(file, haproxyConfig(port, backends, certs));
  return { command: HAPROXY, args: ['-db', '-f', file] };
}
