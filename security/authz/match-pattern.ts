// The gRFC A43 string match: "abc" exact, "abc*" prefix, "*abc" suffix, "*" any non-empty value.
// Chosen in the same order as grpc-go's translator (a lone "*" first, then a trailing "*", then a
// leading one), so "*abc*" is a prefix match on the literal "*abc" there and here.

export type PatternMatcher = (value: string) => boolean;

export function compilePattern(pattern: string): PatternMatcher {
  if (pattern === '*') return (value) => value.length > 0;
  if (pattern.endsWith('*')) {
    const prefix = pattern.slice(0, -1);
    return (value) => value.startsWith(prefix);
  }
  if (pattern.startsWith('*')) {
    const suffix = pattern.slice(1);
    return (value) => value.endsWith(suffix);
  }
  return (value) => value === pattern;
}
