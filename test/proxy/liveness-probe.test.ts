// The liveness probe as sequences of sweeps: when it PINGs, what counts as an answer, and when
// it gives up on a connection, in milliseconds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LivenessProbe, type LivenessSettings } from '../../proxy/liveness-probe.js';

const SETTINGS: LivenessSettings = { silenceMs: 2_000, timeoutMs: 20_000, stuckMs: 1_000 };

describe('LivenessProbe', () => {
  it('PINGs once after the silence, and not again until the client speaks', () => {
    const p = new LivenessProbe(0);
    assert.equal(p.tick(0, 100, 50, 0, SETTINGS), undefined);
    assert.equal(p.tick(1_999, 100, 50, 0, SETTINGS), undefined);
    assert.equal(p.tick(2_000, 100, 50, 0, SETTINGS), 'ping');
    assert.equal(p.waiting, true);
    // Written at once, acknowledged (17 more bytes read).
    assert.equal(p.tick(2_100, 100, 67, 0, SETTINGS), undefined);
    p.answered(2_150, 117);
    assert.equal(p.waiting, false);
    assert.equal(p.tick(60_000, 117, 67, 0, SETTINGS), undefined, 'no second PING while silent');
    // The client speaks, then goes quiet again: one more PING.
    assert.equal(p.tick(61_000, 300, 67, 0, SETTINGS), undefined);
    assert.equal(p.tick(62_999, 300, 67, 0, SETTINGS), undefined);
    assert.equal(p.tick(63_000, 300, 67, 0, SETTINGS), 'ping');
  });

  it('restarts the silence whenever bytes arrive', () => {
    const p = new LivenessProbe(0);
    for (let t = 0, read = 0; t < 10_000; t += 500, read += 10) {
      assert.equal(p.tick(t, read, 0, 0, SETTINGS), undefined);
    }
  });

  it('gives up on a PING left unanswered for the timeout', () => {
    const p = new LivenessProbe(0);
    assert.equal(p.tick(2_000, 0, 0, 0, SETTINGS), 'ping');
    assert.equal(p.tick(3_000, 0, 17, 0, SETTINGS), undefined, 'written: not stuck');
    assert.equal(p.tick(21_999, 0, 17, 0, SETTINGS), undefined);
    assert.equal(p.tick(22_000, 0, 17, 0, SETTINGS), 'unanswered');
  });

  it('takes any bytes from the client as an answer', () => {
    const p = new LivenessProbe(0);
    assert.equal(p.tick(2_000, 0, 0, 0, SETTINGS), 'ping');
    assert.equal(p.tick(15_000, 40, 17, 0, SETTINGS), undefined);
    assert.equal(p.waiting, false);
    assert.equal(p.tick(30_000, 40, 17, 0, SETTINGS), 'ping', 'silent again for 15 s');
  });

  it('gives up at once on a PING that could not be written (a session ended by nghttp2)', () => {
    const p = new LivenessProbe(0);
    assert.equal(p.tick(2_000, 0, 500, 0, SETTINGS), 'ping');
    assert.equal(p.tick(2_999, 0, 500, 1, SETTINGS), undefined);
    assert.equal(p.tick(3_000, 0, 500, 1, SETTINGS), 'stuck');
  });

  it('is off with silenceMs 0', () => {
    const p = new LivenessProbe(0);
    assert.equal(p.tick(1e9, 0, 0, 0, { ...SETTINGS, silenceMs: 0 }), undefined);
  });
});
