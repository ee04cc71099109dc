// The Node.js flags switchyard runs with. The `switchyard` command sets them in its `#!` line;
// whatever starts `dist/bin/switchyard.js` with `node` itself (the benchmarks, the soak, the
// demos, a service manager) should pass them too, so it runs what users run.
//
// `--max-semi-space-size=4`: V8 lets the young generation grow to two 16 MiB semi-spaces under
// load by default. The proxy's calls die young (about 160 of the 2.3 KB a call allocates
// survive a scavenge), so the bigger young generation buys nothing but resident memory: at
// 16 × 8 10 B unary calls on Node 20, 4 MiB semi-spaces hold RSS at 77–78 MB instead of
// 96–97 MB for the same CPU per call (22–28 µs both ways, three pinned pairs; bench/README.md).
export const RUNTIME_FLAGS: readonly string[] = ['--max-semi-space-size=4'];
