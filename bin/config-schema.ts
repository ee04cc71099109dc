// The config file's JSON Schema with the registered balancing policies and resolver options
// filled in; scripts/generate-schema.mjs writes it to schema/switchyard.schema.json.
import { describePolicies } from '../balancer/registry.js';
import { buildJsonSchema } from '../config/json-schema.js';
import { RESOLVER_OPTION_SCHEMA } from '../resolver/options.js';

export function switchyardJsonSchema(): Record<string, unknown> {
  return buildJsonSchema({ policies: describePolicies(), resolverOptions: RESOLVER_OPTION_SCHEMA });
}
