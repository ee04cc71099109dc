// Module-load hooks for node:module register(): every URL the program resolves is appended to a
// file, one a line, so a test can see which modules an import brought in (the project's own ES
// modules and the packages they import alike). Runs on the hooks thread, hence the file.
import { appendFileSync } from 'node:fs';
import type { InitializeHook, ResolveHook } from 'node:module';

let file: string | undefined;

export const initialize: InitializeHook<{ file: string }> = (data) => {
  file = data.file;
};

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  const result = await nextResolve(specifier, context);
  if (file !== undefined) appendFileSync(file, `${result.url}\n`);
  return result;
};
