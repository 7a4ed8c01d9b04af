/**
 * The Registry contract suite: every registry kind and mode runs it through its own harness
 * (registry-harness.ts), as every Store runs store.suite.ts: self-registry.test.ts,
 * aws-iot-registry.test.ts ('multi-account', 'registered-ca', 'jitp') and
 * azure-dps-registry.test.ts ('individual', 'enrollment-group'). It checks what
 * server/registry/registry.ts promises, through that interface alone: register creates exactly one
 * registration and returns its id, again and again (a retry after a crash); revoke withdraws,
 * idempotently, also a unit never registered; throttled, unavailable, hung and refused calls are
 * the RegistryErrors the outbox acts on; CA-level modes await the device's first connection. Then
 * what the outbox makes of each answer (registry-outbox.suite.ts). A case that cannot apply to a
 * kind is skipped with the reason its harness gives, never silently; after every case the remote
 * side (a fake checking what the official SDK sent) must have found each request well-formed.
 */
import type { Test } from 'tap';
import { RETRY_AFTER_MS, type RegistryHarness, suiteKit } from './registry-harness.js';
import { registryOutboxCases } from './registry-outbox.suite.js';

export type { Held, RegistryCapabilities, RegistryFaults, RegistryFixture, RegistryHarness, Support } from './registry-harness.js';

/** Runs the Registry contract against the kind `h` builds. */
export function registrySuite(t: Test, h: RegistryHarness): void {
  const kit = suiteKit(t, h);
  const { contract, connect, confirm, faults, registerFully, registerCall, revokeInStore, lateRegisterKeepsWithdrawn } = kit;

  contract('register creates exactly one registration and returns its external id', [], async (t, fx) => {
    const [u, other] = await fx.units(2);
    t.equal(await fx.held(u!), 'absent');
    const r = await registerFully(t, fx, u!);
    t.equal(r.externalId, fx.externalIdOf(u!));
    t.equal(await fx.held(u!), 'active');
    t.equal(await fx.held(other!), 'absent', 'no other unit registered');
    t.equal(await fx.count(), 1, 'one registration');
  });

  contract('register again (a retry after a crash) returns the same id and makes no second registration', [], async (t, fx) => {
    const [u] = await fx.units(1);
    const first = await registerFully(t, fx, u!);
    t.same(await registerFully(t, fx, u!), first);
    t.same(await registerFully(t, fx, u!), first, 'and a third time');
    t.equal(await fx.held(u!), 'active');
    t.equal(await fx.count(), 1, 'still one registration');
  });

  contract('a CA-level mode reports awaiting connection, then registered once the device connected', ['awaitingConnection'], async (t, fx) => {
    const [u] = await fx.units(1);
    t.same(await fx.registry.register(u!), { externalId: fx.externalIdOf(u!), awaitingConnection: true });
    t.equal(await confirm(fx, u!), null, 'not connected yet');
    t.equal(await fx.held(u!), 'absent', 'nothing registered before the connection');
    t.ok(await connect(fx, u!), 'the device connects and is admitted');
    t.same(await confirm(fx, u!), { externalId: fx.externalIdOf(u!) });
    t.same(await confirm(fx, u!), { externalId: fx.externalIdOf(u!) }, 'confirmConnection is repeatable');
    t.equal(await fx.held(u!), 'active');
    t.equal(await fx.count(), 1);
  });

  contract('revoke resolves and is idempotent', [], async (t, fx) => {
    const [u] = await fx.units(1);
    await registerFully(t, fx, u!);
    const revoked = await revokeInStore(fx.store, u!);
    await fx.registry.revoke(revoked);
    const after = await fx.held(u!);
    await fx.registry.revoke(revoked);
    t.equal(await fx.held(u!), after, 'a second revoke changes nothing');
    t.equal(await fx.count(), 1, 'no registration added or lost');
  });

  contract('revoke withdraws the registration: the device is refused, and a late register does not re-admit it', ['withdraws'], async (t, fx) => {
    const [u, other] = await fx.units(2);
    await registerFully(t, fx, u!);
    await registerFully(t, fx, other!);
    await fx.registry.revoke(await revokeInStore(fx.store, u!));
    t.equal(await fx.held(u!), 'withdrawn');
    t.notOk(await connect(fx, u!), 'the device is refused');
    t.equal(await fx.held(other!), 'active', 'other units untouched');
    await lateRegisterKeepsWithdrawn(t, fx, u!);
  });

  contract('revoke of a unit never registered resolves and registers nothing active', [], async (t, fx) => {
    const [u] = await fx.units(1);
    const revoked = await revokeInStore(fx.store, u!);
    await fx.registry.revoke(revoked);
    await fx.registry.revoke(revoked);
    t.not(await fx.held(u!), 'active');
  });

  contract('revoke of a unit never registered leaves it withdrawn: neither a late register nor a first connection admits it', ['withdraws'], async (t, fx) => {
    const [u] = await fx.units(1);
    await fx.registry.revoke(await revokeInStore(fx.store, u!));
    t.equal(await fx.held(u!), 'withdrawn');
    t.notOk(await connect(fx, u!), 'the device is refused at its first connection');
    await lateRegisterKeepsWithdrawn(t, fx, u!);
  });

  contract('a throttled call is REGISTRY_THROTTLED with the remote\'s Retry-After', ['throttled'], async (t, fx) => {
    const [u] = await fx.units(1);
    const call = await registerCall(t, fx, u!);
    faults(fx).throttleNext();
    await t.rejects(call(), { code: 'REGISTRY_THROTTLED', retryAfterMs: RETRY_AFTER_MS }, 'register path');
    t.same(await call(), { externalId: fx.externalIdOf(u!) }, 'the retry goes through');
    faults(fx).throttleNext();
    await t.rejects(fx.registry.revoke(u!), { code: 'REGISTRY_THROTTLED', retryAfterMs: RETRY_AFTER_MS }, 'revoke');
  });

  contract('an unavailable remote is REGISTRY_UNAVAILABLE; the retry completes with one registration', ['unavailable'], async (t, fx) => {
    const [u] = await fx.units(1);
    const call = await registerCall(t, fx, u!);
    faults(fx).unavailableNext();
    await t.rejects(call(), { code: 'REGISTRY_UNAVAILABLE' }, 'register path');
    t.same(await call(), { externalId: fx.externalIdOf(u!) }, 'the retry goes through');
    t.equal(await fx.count(), 1, 'one registration');
    faults(fx).unavailableNext();
    await t.rejects(fx.registry.revoke(u!), { code: 'REGISTRY_UNAVAILABLE' }, 'revoke');
    await fx.registry.revoke(u!);
  });

  contract('a hung call ends as REGISTRY_UNAVAILABLE at the registry\'s timeout', ['hang'], async (t, fx) => {
    const [u] = await fx.units(1);
    const call = await registerCall(t, fx, u!);
    faults(fx).hangNext();
    const t0 = Date.now();
    await t.rejects(call(), { code: 'REGISTRY_UNAVAILABLE' });
    t.ok(Date.now() - t0 < 5_000, `ended after ${Date.now() - t0} ms, not held for the lease`);
    t.same(await call(), { externalId: fx.externalIdOf(u!) }, 'the retry goes through');
  });

  contract('a permanent refusal is REGISTRY_REJECTED and changes nothing', ['rejected'], async (t, fx) => {
    const [u] = await fx.units(1);
    const call = await registerCall(t, fx, u!);
    const before = await fx.count();
    faults(fx).rejectNext();
    await t.rejects(call(), { code: 'REGISTRY_REJECTED' }, 'register path');
    t.equal(await fx.count(), before, 'nothing registered by the refused call');
    faults(fx).rejectNext();
    await t.rejects(fx.registry.revoke(u!), { code: 'REGISTRY_REJECTED' }, 'revoke');
  });

  registryOutboxCases(kit);
}
