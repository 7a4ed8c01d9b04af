/**
 * The harness side of the Registry contract suite (registry.suite.ts): what each registry kind's
 * test file provides (its capabilities, with the reason for each case that does not apply, and a
 * fixture over a real store exposing its remote side's faults and state), and the steps the
 * suite's cases share over it.
 */
import type { Test } from 'tap';
import type { RegistrationResult, Registry } from '../../../server/registry/registry.js';
import type { Store, UnitRecord } from '../../../server/store/store.js';

/** A case applies to the kind, or not, for the reason given (the case is then skipped with it). */
export type Support = true | { skip: string };

/** Which of the contract's conditional cases apply to a kind. */
export interface RegistryCapabilities {
  /**
   * A CA-level mode: register reports awaitingConnection and confirmConnection reports the
   * registration once the device connected. A per-unit kind gives the reason it registers at once
   * (and the suite then checks that register never reports awaiting).
   */
  awaitingConnection: Support;
  /** revoke makes the registry refuse the device: its next connection is not admitted. */
  withdraws: Support;
  /** The remote can answer 429 with Retry-After (RegistryFaults.throttleNext). */
  throttled: Support;
  /** The remote can answer 503 (RegistryFaults.unavailableNext). */
  unavailable: Support;
  /** The remote can leave a request unanswered (RegistryFaults.hangNext). */
  hang: Support;
  /** The remote can refuse a request for good (RegistryFaults.rejectNext). */
  rejected: Support;
}

/** Faults the remote side serves to its next request. */
export interface RegistryFaults {
  /** 429 with `Retry-After: 1` (one second). */
  throttleNext(): void;
  /** 503. */
  unavailableNext(): void;
  /** A refusal no retry can fix (a 4xx other than 404, 408, 409, 412 or 429). */
  rejectNext(): void;
  /** No answer: the registry's request timeout (short in a harness) must end the call. */
  hangNext(): void;
}

/** What a registry holds for a unit, read at its own side. */
export type Held = 'absent' | 'active' | 'withdrawn';

/** One registry over a fresh store, with the controls and views of its remote side. */
export interface RegistryFixture {
  registry: Registry;
  store: Store;
  /** Issues `n` units on a work order naming only this registry (their register jobs are queued). */
  units(n: number): Promise<UnitRecord[]>;
  /** The id the registry names `unit` by (a thing name, a registration id, keyline:<serial>). */
  externalIdOf(unit: UnitRecord): string;
  /** What the registry holds for `unit` (a fake's state; for self, the store). */
  held(unit: UnitRecord): Promise<Held>;
  /** How many registrations the registry holds in all (certificates, enrollments, device registrations, rows). */
  count(): Promise<number>;
  /** The device's (first) connection to the cloud; true when admitted. Required for awaitingConnection and withdraws. */
  connect?(unit: UnitRecord): Promise<boolean>;
  /** Required for every fault capability that is supported. */
  faults?: RegistryFaults;
  /** Requests the remote refused as malformed; absent where there is no wire to check. */
  violations?(): string[];
}

/** How the suite builds and describes one registry kind (and mode). */
export interface RegistryHarness {
  capabilities: RegistryCapabilities;
  /** Builds the registry over a store in t.testdir(); everything it starts is closed at teardown. */
  open(t: Test): Promise<RegistryFixture>;
}

/** The Retry-After every harness's throttle carries. */
export const RETRY_AFTER_MS = 1000;

/** The steps the suite's cases share over harness `h`. */
export function suiteKit(t: Test, h: RegistryHarness) {
  const caps = h.capabilities;
  const caLevel = caps.awaitingConnection === true;

  /** One case: skipped with the harness's reason when a capability it needs does not apply. */
  function contract(name: string, needs: Array<keyof RegistryCapabilities>, fn: (t: Test, fx: RegistryFixture) => Promise<void>): void {
    const reasons = needs.map((n) => caps[n]).filter((s): s is { skip: string } => s !== true).map((s) => s.skip);
    t.test(name, reasons.length ? { skip: reasons.join('; ') } : {}, async (t) => {
      const fx = await h.open(t);
      await fn(t, fx);
      if (fx.violations) t.same(fx.violations(), [], 'the remote found every request well-formed');
    });
  }

  const faults = (fx: RegistryFixture): RegistryFaults => {
    if (!fx.faults) throw new Error('harness: a fault capability is supported but the fixture has no faults');
    return fx.faults;
  };
  const connect = (fx: RegistryFixture, u: UnitRecord): Promise<boolean> => {
    if (!fx.connect) throw new Error('harness: awaitingConnection or withdraws is supported but the fixture has no connect');
    return fx.connect(u);
  };

  /** confirmConnection, which a CA-level registry must have (registry.ts). */
  const confirm = (fx: RegistryFixture, u: UnitRecord): Promise<RegistrationResult | null> => {
    if (!fx.registry.confirmConnection) throw new Error(`registry ${fx.registry.name} reports awaiting but has no confirmConnection`);
    return fx.registry.confirmConnection(u);
  };

  /** Registers `u` to the end: in a CA-level mode through awaiting, the device's connection and confirmConnection. */
  async function registerFully(t: Test, fx: RegistryFixture, u: UnitRecord): Promise<RegistrationResult> {
    const r = await fx.registry.register(u);
    if (!caLevel) {
      t.notOk(r.awaitingConnection, 'a per-unit mode never reports awaiting');
      return r;
    }
    t.equal(r.awaitingConnection, true, 'a CA-level mode reports awaiting');
    let c = await confirm(fx, u);
    if (!c) {
      t.ok(await connect(fx, u), 'the device connects and is admitted');
      c = await confirm(fx, u);
    }
    t.equal(c?.externalId, r.externalId, 'confirmed under the id register reported');
    return c!;
  }

  /**
   * The call that asks the registry for `u`'s registration: register in a per-unit mode; in a
   * CA-level mode register (only reporting awaiting) is made first, the device connects, and the
   * call is confirmConnection. A fault injected just before the call is served to it.
   */
  async function registerCall(t: Test, fx: RegistryFixture, u: UnitRecord): Promise<() => Promise<RegistrationResult | null>> {
    if (!caLevel) return () => fx.registry.register(u);
    t.equal((await fx.registry.register(u)).awaitingConnection, true);
    t.ok(await connect(fx, u), 'the device connects');
    return () => confirm(fx, u);
  }

  /** The unit as the revocation service leaves it: revoked in the store (its revoke jobs are the caller's). */
  async function revokeInStore(store: Store, u: UnitRecord): Promise<UnitRecord> {
    return store.transaction(async (tx) => {
      await tx.units.setStatus(u.serial, 'revoked', { at: new Date().toISOString(), reason: 'keyCompromise' });
      return (await tx.units.getBySerial(u.serial))!;
    });
  }

  /** A late register (a job that read the unit before its revocation) must not re-admit it. */
  async function lateRegisterKeepsWithdrawn(t: Test, fx: RegistryFixture, stale: UnitRecord): Promise<void> {
    try {
      await fx.registry.register(stale);
      t.pass('the late register resolved');
    } catch (err) {
      t.match(err, { code: 'REGISTRY_REJECTED' }, 'the late register is refused for good, or resolves');
    }
    t.equal(await fx.held(stale), 'withdrawn', 'still withdrawn after the late register');
    t.notOk(await connect(fx, stale), 'the device is still refused');
    if (caLevel) t.equal(await confirm(fx, stale), null, 'confirmConnection never reports it registered');
  }

  return { caps, caLevel, contract, faults, connect, confirm, registerFully, registerCall, revokeInStore, lateRegisterKeepsWithdrawn };
}

/** The shared steps, as the case files receive them. */
export type SuiteKit = ReturnType<typeof suiteKit>;
