// The reload coalescer as a sequence of runs: one at a time, triggers during a run folded into
// one more, each caller answered by the run it joined, a failure answering only its own callers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReloadCoalescer, type ReloadRequest } from '../../bin/reload-coalescer.js';

/** A run function whose runs the test ends one by one. */
function scripted() {
  const runs: { request: ReloadRequest; end(result: string | Error): void }[] = [];
  let active = 0;
  let most = 0;
  const coalescer = new ReloadCoalescer<string>(
    (request) =>
      new Promise((resolve, reject) => {
        active++;
        most = Math.max(most, active);
        runs.push({
          request,
          end: (result) => {
            active--;
            if (result instanceof Error) reject(result);
            else resolve(result);
          },
        });
      }),
  );
  return { coalescer, runs, mostAtOnce: () => most };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

void describe('ReloadCoalescer', () => {
  void it('runs a lone request at once', async () => {
    const { coalescer, runs } = scripted();
    const result = coalescer.request('SIGHUP');
    assert.deepEqual(
      runs.map((r) => r.request),
      [{ triggers: ['SIGHUP'], onlyIfChanged: false }],
    );
    runs[0].end('first');
    assert.equal(await result, 'first');
  });

  void it('folds every request made during a run into one more run', async () => {
    const { coalescer, runs, mostAtOnce } = scripted();
    const first = coalescer.request('file changed', true);
    const during = [
      coalescer.request('SIGHUP'),
      coalescer.request('admin API'),
      coalescer.request('file changed', true),
    ];
    assert.equal(runs.length, 1);
    runs[0].end('one');
    await settle();
    assert.equal(runs.length, 2);
    assert.deepEqual(runs[1].request, {
      triggers: ['SIGHUP', 'admin API', 'file changed'],
      onlyIfChanged: false,
    });
    // A request during the second run waits for a third.
    const late = coalescer.request('admin API');
    runs[1].end('two');
    assert.equal(await first, 'one');
    assert.deepEqual(await Promise.all(during), ['two', 'two', 'two']);
    await settle();
    assert.equal(runs.length, 3);
    runs[2].end('three');
    assert.equal(await late, 'three');
    assert.equal(mostAtOnce(), 1);
  });

  void it('skips nothing unless every trigger of a run was the file watch', async () => {
    const { coalescer, runs } = scripted();
    void coalescer.request('SIGHUP');
    void coalescer.request('file changed', true);
    void coalescer.request('file changed', true);
    runs[0].end('x');
    await settle();
    assert.deepEqual(runs[1].request, {
      triggers: ['file changed', 'file changed'],
      onlyIfChanged: true,
    });
  });

  void it('answers a failed run with its error and goes on with the next', async () => {
    const { coalescer, runs } = scripted();
    const first = coalescer.request('SIGHUP');
    const second = coalescer.request('admin API');
    runs[0].end(new Error('bad file'));
    await assert.rejects(first, /bad file/);
    await settle();
    runs[1].end('good');
    assert.equal(await second, 'good');
  });
});
