// gRPC's DNS service config: TXT `grpc_config=[choices…]` at `_grpc_config.<name>` (gRFC A2).
import { hostname } from 'node:os';
import { classifyDnsError, dnsErrorCode, type DnsClient } from './dns-client.js';
import { ResolutionError } from './errors.js';

/** What a TXT answer said: no config, the selected config, or why it was unusable. */
export type ServiceConfigResult =
  | { readonly kind: 'none' }
  | { readonly kind: 'ok'; readonly config: Readonly<Record<string, unknown>> }
  | { readonly kind: 'error'; readonly message: string };

const PREFIX = 'grpc_config=';
const CHOICE_FIELDS = new Set(['clientLanguage', 'percentage', 'clientHostname', 'serviceConfig']);

/** The TXT name gRPC looks under for `host`. */
export function serviceConfigName(host: string): string {
  return `_grpc_config.${host}`;
}

export interface ChoiceContext {
  /** Chosen once per resolver in [0, 100), so one client stays in or out of a canary. */
  readonly percentage: number;
  readonly hostname?: string;
  /** gRPC's language tag; Node clients use `node`. */
  readonly language?: string;
}

function stringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

function checkServiceConfig(config: unknown): string | undefined {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    return 'serviceConfig is not an object';
  }
  const c = config as Record<string, unknown>;
  if ('loadBalancingConfig' in c && !Array.isArray(c.loadBalancingConfig)) {
    return 'loadBalancingConfig is not a list';
  }
  if ('methodConfig' in c && !Array.isArray(c.methodConfig)) return 'methodConfig is not a list';
  if ('loadBalancingPolicy' in c && typeof c.loadBalancingPolicy !== 'string') {
    return 'loadBalancingPolicy is not a string';
  }
  return undefined;
}

/**
 * Picks the service config from TXT records (each record's strings joined, as DNS splits long
 * text into 255-byte pieces). The first choice whose language, hostname and percentage all
 * match wins; a malformed list is an error so the caller can keep its endpoints and report it.
 */
export function selectServiceConfig(
  records: readonly (readonly string[])[],
  ctx: ChoiceContext,
): ServiceConfigResult {
  const texts = records.map((r) => r.join('')).filter((t) => t.startsWith(PREFIX));
  if (texts.length === 0) return { kind: 'none' };
  if (texts.length > 1) return { kind: 'error', message: 'more than one grpc_config TXT record' };
  let choices: unknown;
  try {
    choices = JSON.parse(texts[0].slice(PREFIX.length));
  } catch (error) {
    return {
      kind: 'error',
      message: `grpc_config is not valid JSON (${(error as Error).message})`,
    };
  }
  if (!Array.isArray(choices)) return { kind: 'error', message: 'grpc_config is not a JSON list' };
  const language = (ctx.language ?? 'node').toLowerCase();
  const host = ctx.hostname ?? hostname();
  for (const [i, choice] of choices.entries()) {
    if (typeof choice !== 'object' || choice === null || Array.isArray(choice)) {
      return { kind: 'error', message: `grpc_config choice ${i} is not an object` };
    }
    const c = choice as Record<string, unknown>;
    for (const key of Object.keys(c)) {
      if (!CHOICE_FIELDS.has(key))
        return { kind: 'error', message: `grpc_config choice ${i} has unknown field "${key}"` };
    }
    if ('clientLanguage' in c && !stringList(c.clientLanguage)) {
      return {
        kind: 'error',
        message: `grpc_config choice ${i}: clientLanguage is not a list of strings`,
      };
    }
    if ('clientHostname' in c && !stringList(c.clientHostname)) {
      return {
        kind: 'error',
        message: `grpc_config choice ${i}: clientHostname is not a list of strings`,
      };
    }
    if ('percentage' in c) {
      const p = c.percentage;
      if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 100) {
        return {
          kind: 'error',
          message: `grpc_config choice ${i}: percentage is not an integer 0-100`,
        };
      }
    }
    const problem = checkServiceConfig(c.serviceConfig);
    if (problem) return { kind: 'error', message: `grpc_config choice ${i}: ${problem}` };
    if (stringList(c.clientLanguage) && !c.clientLanguage.some((l) => l.toLowerCase() === language))
      continue;
    if (stringList(c.clientHostname) && !c.clientHostname.includes(host)) continue;
    if (typeof c.percentage === 'number' && !(ctx.percentage < c.percentage)) continue;
    return { kind: 'ok', config: c.serviceConfig as Record<string, unknown> };
  }
  return { kind: 'none' };
}

/** The TXT query failed for a reason that may pass: keep whatever config was in force. */
export interface ServiceConfigUnavailable {
  readonly kind: 'unavailable';
  readonly code: string;
}

/** Looks up and selects the service config for `host`; never rejects. */
export async function lookupServiceConfig(
  client: DnsClient,
  host: string,
  ctx: ChoiceContext,
): Promise<ServiceConfigResult | ServiceConfigUnavailable> {
  let records: string[][];
  try {
    records = await client.resolveTxt(serviceConfigName(host));
  } catch (error) {
    // No TXT record is the normal case: no service config.
    if (classifyDnsError(error) === 'not-found') return { kind: 'none' };
    return { kind: 'unavailable', code: dnsErrorCode(error) };
  }
  return selectServiceConfig(records, ctx);
}

/**
 * The service config to publish after a TXT lookup: the new one, none, or the previous one
 * when the lookup failed or the record was malformed (the endpoints still go out; the problem
 * is reported separately).
 */
export function nextServiceConfig(
  previous: Readonly<Record<string, unknown>> | undefined,
  result: ServiceConfigResult | ServiceConfigUnavailable,
  target: string,
): { config: Readonly<Record<string, unknown>> | undefined; problem: ResolutionError | undefined } {
  switch (result.kind) {
    case 'none':
      return { config: undefined, problem: undefined };
    case 'ok':
      return { config: result.config, problem: undefined };
    case 'unavailable':
      return { config: previous, problem: undefined };
    case 'error':
      return {
        config: previous,
        problem: new ResolutionError(
          'SWY_ERR_RESOLVE_BAD_ANSWER',
          target,
          `bad service config: ${result.message}`,
        ),
      };
  }
}
