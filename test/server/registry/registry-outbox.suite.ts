/**
 * The outbox half of the Registry contract suite (registry.suite.ts): the real outbox worker on
 * the harness's store, on a clock the test moves, delivering to the harness's registry. What it
 * must make of each answer is outbox-delivery.ts's table: delivered with the registry's id
 * recorded, awaiting until the device connects, released without an attempt when throttled,
 * retried when unavailable, parked when refused; revoke jobs delivered, after register ones.
 */
import type { Test } from 'tap';
import { silentLogger } from '../../../common/log.js';
import { createOutboxWorker, type OutboxRound, type OutboxWorker } from '../../../server/registry/outbox-worker.js';
import type { OutboxJobRecord, UnitRecord } from '../../../server/store/store.js';
import { RETRY_AFTER_MS, type RegistryFixture, type SuiteKit } from './registry-harness.js';

/** The outbox's re-check interval for awaiting jobs (on the test's clock). */
const AWAITING_CHECK_MS = 60_000;
/** The outbox's first retry delay: shorter than the Retry-After, so a throttle that lost its hint shows. */
const BASE_DELAY_MS = 250;

const round = (r: Partial<OutboxRound>): OutboxRound => ({ delivered: 0, awaiting: 0, retried: 0, throttled: 0, parked: 0, ...r });

/** Runs the outbox cases over the suite's kit. */
export function registryOutboxCases(kit: SuiteKit): void {
  const { caps, caLevel, contract, connect, faults, registerFully, revokeInStore } = kit;

  /** A worker on a clock the test moves, starting now (after the units were issued and their jobs queued). */
  function outbox(fx: RegistryFixture) {
    const clock = { at: Date.now() };
    const worker: OutboxWorker = createOutboxWorker({
      store: fx.store, registries: [fx.registry], now: () => new Date(clock.at), log: silentLogger,
      awaitingCheckMs: AWAITING_CHECK_MS, baseDelayMs: BASE_DELAY_MS, maxDelayMs: 60_000, maxAttempts: 8,
    });
    const jobs = async (u: UnitRecord): Promise<OutboxJobRecord[]> =>
      (await fx.store.transaction((tx) => tx.outbox.jobsFor(u.serial), { readOnly: true })).filter((j) => j.registry === fx.registry.name);
    const registration = (u: UnitRecord) => fx.store.transaction((tx) => tx.outbox.getRegistration(u.serial, fx.registry.name), { readOnly: true });
    return { clock, worker, jobs, registration };
  }

  /**
   * Brings `u`'s register job to where its next round makes the register path's remote call: at
   * once in a per-unit mode; in a CA-level mode after a round leaves it awaiting and the device connected.
   */
  async function toRegisterCall(t: Test, fx: RegistryFixture, o: ReturnType<typeof outbox>, u: UnitRecord): Promise<void> {
    if (!caLevel) return;
    t.same(await o.worker.runOnce(), round({ awaiting: 1 }));
    t.ok(await connect(fx, u), 'the device connects');
    o.clock.at += AWAITING_CHECK_MS;
  }

  /** The part of a case that needs `withdraws`: a subtest, skipped with the harness's reason where it does not apply. */
  async function withdrawnThere(t: Test, fx: RegistryFixture, u: UnitRecord, name: string): Promise<void> {
    await t.test(name, caps.withdraws === true ? {} : { skip: caps.withdraws.skip }, async (t) => {
      t.equal(await fx.held(u), 'withdrawn');
      t.notOk(await connect(fx, u), 'the device is refused');
    });
  }

  contract('outbox: a register job is delivered once, with the registry\'s id recorded', [], async (t, fx) => {
    const [u] = await fx.units(1);
    const o = outbox(fx);
    if (caLevel) {
      t.same(await o.worker.runOnce(), round({ awaiting: 1 }));
      t.match(await o.jobs(u!), [{ action: 'register', status: 'awaiting', externalId: fx.externalIdOf(u!) }]);
      t.equal(await o.registration(u!), null, 'no registration recorded while awaiting');
      o.clock.at += AWAITING_CHECK_MS;
      t.same(await o.worker.runOnce(), round({ awaiting: 1 }), 'still awaiting: the device has not connected');
      t.ok(await connect(fx, u!), 'the device connects');
      o.clock.at += AWAITING_CHECK_MS;
    }
    t.same(await o.worker.runOnce(), round({ delivered: 1 }));
    t.match(await o.jobs(u!), [{ action: 'register', status: 'delivered' }]);
    t.equal((await o.registration(u!))?.externalId, fx.externalIdOf(u!));
    t.equal(await fx.held(u!), 'active');
    t.equal(await fx.count(), 1);
    o.clock.at += AWAITING_CHECK_MS;
    t.same(await o.worker.runOnce(), round({}), 'nothing left to do');
  });

  contract('outbox: a job whose call landed before a crash is delivered without a second registration', [], async (t, fx) => {
    const [u] = await fx.units(1);
    const o = outbox(fx);
    // The worker's call reached the registry; the process died before the job was marked.
    await registerFully(t, fx, u!);
    t.match(await o.jobs(u!), [{ status: 'pending' }]);
    let r = await o.worker.runOnce();
    if (caLevel) {
      t.same(r, round({ awaiting: 1 }));
      o.clock.at += AWAITING_CHECK_MS;
      r = await o.worker.runOnce();
    }
    t.same(r, round({ delivered: 1 }));
    t.equal((await o.registration(u!))?.externalId, fx.externalIdOf(u!));
    t.equal(await fx.count(), 1, 'one registration');
  });

  contract('outbox: a throttled call releases the job until Retry-After without counting an attempt, and pauses the registry', ['throttled'], async (t, fx) => {
    const [u] = await fx.units(1);
    const o = outbox(fx);
    await toRegisterCall(t, fx, o, u!);
    faults(fx).throttleNext();
    t.same(await o.worker.runOnce(), round({ throttled: 1 }));
    const paused = Date.now();
    const [job] = await o.jobs(u!);
    t.equal(job!.attempts, 0, 'a throttled call is not a failed attempt');
    t.ok(Date.parse(job!.nextAttemptAt) >= o.clock.at + RETRY_AFTER_MS, 'next attempt after Retry-After');
    o.clock.at += RETRY_AFTER_MS / 2;
    t.same(await o.worker.runOnce(), round({}), 'not retried before Retry-After');
    o.clock.at += RETRY_AFTER_MS;
    t.same(await o.worker.runOnce(), round({ delivered: 1 }));
    // The rate limiter runs on real time: the registry's next call waited out the Retry-After.
    t.ok(Date.now() - paused >= RETRY_AFTER_MS - 100, `the registry paused ${Date.now() - paused} ms`);
    t.equal(await fx.count(), 1);
  });

  contract('outbox: an unavailable remote counts an attempt and is retried after the backoff, then delivered once', ['unavailable'], async (t, fx) => {
    const [u] = await fx.units(1);
    const o = outbox(fx);
    await toRegisterCall(t, fx, o, u!);
    faults(fx).unavailableNext();
    t.same(await o.worker.runOnce(), round({ retried: 1 }));
    const [job] = await o.jobs(u!);
    t.match(job, { attempts: 1, lastError: /^REGISTRY_UNAVAILABLE: / });
    t.equal(Date.parse(job!.nextAttemptAt) - o.clock.at, BASE_DELAY_MS, 'retried after the first backoff');
    o.clock.at = Date.parse(job!.nextAttemptAt);
    t.same(await o.worker.runOnce(), round({ delivered: 1 }));
    t.equal((await o.registration(u!))?.externalId, fx.externalIdOf(u!));
    t.equal(await fx.count(), 1, 'one registration');
  });

  contract('outbox: a permanent refusal parks the job at once with its reason', ['rejected'], async (t, fx) => {
    const [u] = await fx.units(1);
    const o = outbox(fx);
    await toRegisterCall(t, fx, o, u!);
    faults(fx).rejectNext();
    t.same(await o.worker.runOnce(), round({ parked: 1 }));
    t.match(await o.jobs(u!), [{ status: 'parked', attempts: 1, lastError: /^REGISTRY_REJECTED: / }]);
    t.equal(await o.registration(u!), null);
    o.clock.at += 3_600_000;
    t.same(await o.worker.runOnce(), round({}), 'a parked job is not retried');
  });

  contract('outbox: a revoke job is delivered and withdraws the unit', [], async (t, fx) => {
    const [u] = await fx.units(1);
    const o = outbox(fx);
    // Registered, and its register job delivered (in a CA-level mode: a round awaiting, then one confirming).
    await registerFully(t, fx, u!);
    for (let i = 0; i < 3 && (await o.jobs(u!)).some((j) => j.status !== 'delivered'); i++) {
      await o.worker.runOnce();
      o.clock.at += AWAITING_CHECK_MS;
    }
    t.match(await o.jobs(u!), [{ action: 'register', status: 'delivered' }]);
    await revokeInStore(fx.store, u!);
    await fx.store.transaction((tx) => tx.outbox.enqueue({ serial: u!.serial, registry: fx.registry.name, action: 'revoke', at: new Date(o.clock.at).toISOString() }));
    t.same(await o.worker.runOnce(), round({ delivered: 1 }));
    t.same((await o.jobs(u!)).map((j) => [j.action, j.status]), [['register', 'delivered'], ['revoke', 'delivered']]);
    await withdrawnThere(t, fx, u!, 'withdrawn at the registry');
  });

  contract('outbox: a unit revoked before its registration went out is never registered there', [], async (t, fx) => {
    const [u] = await fx.units(1);
    const o = outbox(fx);
    await revokeInStore(fx.store, u!);
    await fx.store.transaction((tx) => tx.outbox.enqueue({ serial: u!.serial, registry: fx.registry.name, action: 'revoke', at: new Date(o.clock.at).toISOString() }));
    t.same(await o.worker.runOnce(), round({ delivered: 2 }), 'the register job is dropped, the revoke job delivered');
    t.equal(await o.registration(u!), null, 'no registration recorded');
    t.not(await fx.held(u!), 'active');
    await withdrawnThere(t, fx, u!, 'withdrawn at the registry, so a first connection cannot bring it in');
  });
}