// Errors made while building filters from the config: a bad module, bad options, a bad value
// template. Each names the entry's file:line:col.
import { SwitchyardError } from '../common/errors.js';

export class FilterConfigError extends SwitchyardError {
  override readonly name = 'FilterConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('SWY_ERR_FILTER_CONFIG', message, options);
  }
}
