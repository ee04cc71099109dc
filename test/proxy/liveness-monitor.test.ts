// The liveness monitor as a state machine on a fake clock: when it PINGs, and what it concludes
// from an answer, from silence, and from a PING that never left.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LivenessMonitor,
  QUIET_MS,
  STOPPED_CHECK_MS,
  type LivenessSettings,
  type LivenessTarget,
  type LivenessVerdict,
} from '../../upstream/liveness-monitor.js';
import { FakeClock } from '../support/fake-clock.js';

/** A connection under the test's control. */
class FakeConnection implements LivenessTarget {
  read = 0;
  written = 0;
  pending = false;
  streams = 0;
  /** PINGs sent, each with its acknowledgement. */
  pings: Array<() => void> = [];
  /** What ping() does: write 17 bytes (a PING frame), write nothing, or refuse. */
  pingMode: 'write' | 'stuck' | 'refuse' = 'write';

  bytesRead(): number {
    return this.read;
  }
  bytesWritten(): number {
    return this.written;
  }
  writePending(): boolean {
    return this.pending;
  }
  ping(onAck: () => void): boolean {
    if (this.pingMode === 'refuse') return false;
    if (this.pingMode === 'write') this.written += 17;
    this.pings.push(onAck);
    return true;
  }
  /** The peer answers the latest PING. */
  ack(): void {
    this.read += 17;
    this.pings[this.pings.length - 1]();
  }
}

const SETTINGS: LivenessSettings = { timeMs: 30_000, timeoutMs: 5_000, idleTimeMs: 300_000 };

function watch(settings: LivenessSettings = SETTINGS) {
  const clock = new FakeClock();
  const conn = new FakeConnection();
  const verdicts: LivenessVerdict[] = [];
  const monitor = new LivenessMonitor(conn, settings, clock, (v) => verdicts.push(v));
  return { clock, conn, verdicts, monitor };
}

describe('liveness monitor', () => {
  it('never PINGs a connection with calls that keeps receiving frames', () => {
    const { clock, conn, verdicts, monitor } = watch();
    conn.streams = 3;
    for (let i = 0; i < 600; i++) {
      conn.read += 100;
      clock.advanceSync(100);
    }
    assert.equal(conn.pings.length, 0);
    assert.deepEqual(verdicts, []);
    monitor.close();
  });

  it('PINGs a connection with calls about a second after it went quiet, then at most once per time', () => {
    const { clock, conn, verdicts, monitor } = watch();
    conn.streams = 1;
    clock.advanceSync(QUIET_MS / 2);
    conn.read += 50;
    clock.advanceSync(QUIET_MS + QUIET_MS / 2);
    assert.equal(conn.pings.length, 1, 'a PING once quiet for a second');
    conn.ack();
    clock.advanceSync(SETTINGS.timeMs - 1_000);
    assert.equal(conn.pings.length, 1, 'no second PING before keepalive.time');
    clock.advanceSync(2_000);
    assert.equal(conn.pings.length, 2);
    conn.ack();
    assert.deepEqual(verdicts, []);
    monitor.close();
  });

  it('declares a connection dead when its PING is unanswered for the timeout', () => {
    const { clock, conn, verdicts } = watch();
    conn.streams = 1;
    clock.advanceSync(QUIET_MS);
    assert.equal(conn.pings.length, 1);
    clock.advanceSync(SETTINGS.timeoutMs - 1);
    assert.deepEqual(verdicts, []);
    clock.advanceSync(1);
    assert.deepEqual(verdicts, [{ kind: 'unanswered', afterMs: SETTINGS.timeoutMs }]);
    clock.advanceSync(60_000);
    assert.equal(verdicts.length, 1, 'one verdict, then nothing');
  });

  it('finds at once a session whose own HTTP/2 layer stopped writing', () => {
    const { clock, conn, verdicts } = watch();
    conn.streams = 2;
    conn.pingMode = 'stuck';
    clock.advanceSync(QUIET_MS);
    assert.equal(conn.pings.length, 1);
    clock.advanceSync(STOPPED_CHECK_MS - 1);
    assert.deepEqual(verdicts, []);
    clock.advanceSync(1);
    assert.deepEqual(verdicts, [{ kind: 'stopped' }]);
  });

  it('leaves a backed-up socket to the PING timeout', () => {
    const { clock, conn, verdicts } = watch();
    conn.streams = 2;
    conn.pingMode = 'stuck';
    conn.pending = true;
    clock.advanceSync(QUIET_MS + STOPPED_CHECK_MS);
    assert.equal(conn.pings.length, 1);
    assert.deepEqual(verdicts, []);
    clock.advanceSync(SETTINGS.timeoutMs - STOPPED_CHECK_MS);
    assert.deepEqual(verdicts, [{ kind: 'unanswered', afterMs: SETTINGS.timeoutMs }]);
  });

  it('PINGs an idle connection every idleTime, and never when idle PINGs are off', () => {
    const { clock, conn, monitor } = watch();
    clock.advanceSync(SETTINGS.idleTimeMs - 1_000);
    assert.equal(conn.pings.length, 0);
    clock.advanceSync(1_000);
    assert.equal(conn.pings.length, 1);
    conn.ack();
    clock.advanceSync(SETTINGS.idleTimeMs);
    assert.equal(conn.pings.length, 2);
    conn.ack();
    monitor.close();

    const off = watch({ ...SETTINGS, idleTimeMs: 0 });
    off.clock.advanceSync(24 * 3_600_000);
    assert.equal(off.conn.pings.length, 0);
    off.monitor.close();
  });

  it('stretches its intervals by the scale (after "too_many_pings")', () => {
    const { clock, conn, monitor } = watch();
    monitor.scale = 4;
    clock.advanceSync(4 * SETTINGS.idleTimeMs - 1_000);
    assert.equal(conn.pings.length, 0);
    clock.advanceSync(1_000);
    assert.equal(conn.pings.length, 1);
    monitor.close();
  });

  it('tries again at the next tick when a PING could not be sent', () => {
    const { clock, conn, verdicts, monitor } = watch();
    conn.streams = 1;
    conn.pingMode = 'refuse';
    clock.advanceSync(5 * QUIET_MS);
    assert.deepEqual(verdicts, []);
    conn.pingMode = 'write';
    clock.advanceSync(SETTINGS.timeMs);
    assert.equal(conn.pings.length, 1);
    monitor.close();
  });
});
