import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import t from 'tap';
import { z } from 'zod';
import { toPem } from '../../../common/pem.js';
import { loadConfigWithoutSecrets } from '../../../server/config.js';
import { createRegistries, parseRegistrySections, registryNames, setupRegistry, type AnyRegistryKind } from '../../../server/registry/registries.js';
import type { RegistryContext } from '../../../server/registry/registry-kind.js';
import { storeWithOrder } from './helpers.js';

const log = pino({ level: 'silent' });
const secretRef = z.union([z.object({ env: z.string() }).strict(), z.object({ file: z.string() }).strict()]);

/** A fake cloud kind that records what its factory received. */
function fakeKind(seen: Array<{ name: string; token: string; ctx: RegistryContext }>): AnyRegistryKind {
  return {
    type: 'fake-cloud',
    configSchema: z.object({ type: z.literal('fake-cloud'), region: z.string().min(1), token: secretRef, mode: z.enum(['per-unit', 'ca']).default('per-unit') }).strict(),
    create(name: string, cfg: { token: { env: string } | { file: string } }, ctx: RegistryContext) {
      seen.push({ name, token: ctx.secret(cfg.token, 'token'), ctx });
      return { name, maxPerSecond: 5, async register() { return { externalId: 'x' }; }, async revoke() {} };
    },
    async setup(name: string, _cfg: unknown, ctx: { progress(m: string): void; issuingCaDer: Uint8Array }) {
      ctx.progress(`setting up ${name}`);
      return { name, caBytes: ctx.issuingCaDer.length };
    },
  };
}

function writeConfig(dir: string, extra: Record<string, unknown>): string {
  const file = join(dir, 'keyline.json');
  writeFileSync(file, JSON.stringify({
    hsm: { tokenLabel: 't', pin: { env: 'PIN' }, issuingKey: 'pkcs11:object=issuing' },
    ca: { crlUrl: 'http://h/crl', ocspUrl: 'http://h/ocsp' },
    ...extra,
  }));
  return file;
}

t.test('config: registries default to none (self implicit), outbox defaults', async (t) => {
  const c = loadConfigWithoutSecrets(writeConfig(t.testdir(), {}), {});
  t.same(c.registries, {});
  t.same(registryNames(c), ['self']);
  t.match(c.outbox, { leaseSeconds: 60, maxAttempts: 8, baseDelayMs: 1000, awaitingCheckSeconds: 300, confirmWaitMs: 10_000 });
});

t.test('config: self is reserved, names are checked, outbox values bounded', async (t) => {
  const dir = t.testdir();
  t.throws(() => loadConfigWithoutSecrets(writeConfig(dir, { registries: { self: { type: 'fake-cloud' } } }), {}), { code: 'CONFIG_INVALID', message: /self/ });
  t.throws(() => loadConfigWithoutSecrets(writeConfig(dir, { registries: { 'Bad Name': { type: 'x' } } }), {}), { code: 'CONFIG_INVALID' });
  t.throws(() => loadConfigWithoutSecrets(writeConfig(dir, { registries: { aws: {} } }), {}), { code: 'CONFIG_INVALID', message: /registries\.aws\.type/ });
  t.throws(() => loadConfigWithoutSecrets(writeConfig(dir, { outbox: { maxAttempts: 0 } }), {}), { code: 'CONFIG_INVALID', message: /outbox\.maxAttempts/ });
});

t.test('sections are validated by their kind, every problem listed at once', async (t) => {
  const c = loadConfigWithoutSecrets(writeConfig(t.testdir(), {
    registries: { 'eu': { type: 'fake-cloud', region: '' , token: { env: 'T' } }, 'us': { type: 'nope' }, 'ok': { type: 'fake-cloud', region: 'r', token: { env: 'T' }, extra: 1 } },
  }), {});
  const err = (() => { try { parseRegistrySections(c, [fakeKind([])]); } catch (e) { return e as Error & { code: string }; } })();
  t.equal(err?.code, 'CONFIG_INVALID');
  t.match(err?.message, /registries\.eu\.region/);
  t.match(err?.message, /registries\.us\.type: unknown registry type 'nope' \(known: 'fake-cloud'\)/);
  t.match(err?.message, /registries\.ok: .*extra/i);
});

t.test('createRegistries: self first, then each section built with its secret resolved', async (t) => {
  const dir = t.testdir();
  writeFileSync(join(dir, 'token.txt'), 'file-secret\n');
  const c = loadConfigWithoutSecrets(writeConfig(dir, {
    registries: { 'eu': { type: 'fake-cloud', region: 'eu-1', token: { env: 'TOKEN' } }, 'us': { type: 'fake-cloud', region: 'us-1', token: { file: 'token.txt' } } },
  }), {});
  const store = await storeWithOrder(dir);
  t.teardown(() => store.close());
  const seen: Array<{ name: string; token: string; ctx: RegistryContext }> = [];
  const regs = createRegistries(c, { store, issuingCaPem: 'PEM', log, env: { TOKEN: 'env-secret' }, kinds: [fakeKind(seen)] });
  t.same(regs.map((r) => r.name), ['self', 'eu', 'us']);
  t.same(seen.map((s) => [s.name, s.token]), [['eu', 'env-secret'], ['us', 'file-secret']]);
  t.equal(seen[0]!.ctx.issuingCaPem, 'PEM');
  t.same(registryNames(c), ['self', 'eu', 'us']);
  // A missing secret names the field, never a value.
  t.throws(() => createRegistries(c, { store, issuingCaPem: 'PEM', log, env: {}, kinds: [fakeKind([])] }), { code: 'CONFIG_INVALID', message: /registries\.eu\.token: environment variable TOKEN is not set/ });
});

t.test('issuingCaPemFor: the CA that signed the certificate; one naming no loaded CA gets the first, with a warning (issue 19)', async (t) => {
  const dir = t.testdir();
  const c = loadConfigWithoutSecrets(writeConfig(dir, { registries: { eu: { type: 'fake-cloud', region: 'eu-1', token: { env: 'TOKEN' } } } }), {});
  const store = await storeWithOrder(dir);
  t.teardown(() => store.close());
  const lines: Array<{ msg: string; registry?: string; fingerprint?: string }> = [];
  const warnLog = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  const ca2 = { der: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x02]) };
  const issuingCas = { forCertificate: (der: Uint8Array) => (der[0] === 2 ? ca2 : undefined) };
  const seen: Array<{ name: string; token: string; ctx: RegistryContext }> = [];
  createRegistries(c, { store, issuingCaPem: 'FIRST', issuingCas, log: warnLog, env: { TOKEN: 'x' }, kinds: [fakeKind(seen)] });
  const ctx = seen[0]!.ctx;
  t.equal(ctx.issuingCaPemFor(new Uint8Array([2])), toPem(ca2.der), 'the signing CA');
  t.same(lines, [], 'no warning for a known CA');
  t.equal(ctx.issuingCaPemFor(new Uint8Array([9])), 'FIRST', 'an unknown CA: the first');
  t.match(lines, [{ registry: 'eu', msg: /none of the loaded issuing CAs/, fingerprint: /^[0-9a-f]{64}$/ }]);
  t.equal(ctx.issuingCaPem, 'FIRST', 'issuingCaPem unchanged (CA-level setup)');
});

t.test('setupRegistry: runs the kind\'s setup; unknown and self refused', async (t) => {
  const c = loadConfigWithoutSecrets(writeConfig(t.testdir(), { registries: { eu: { type: 'fake-cloud', region: 'r', token: { env: 'T' } } } }), {});
  const progress: string[] = [];
  const ctx = { issuingCaPem: 'PEM', issuingCaDer: new Uint8Array(7), issuingSigner: {} as never, log, progress: (m: string) => progress.push(m), kinds: [fakeKind([])], env: {} };
  t.same(await setupRegistry(c, 'eu', ctx), { name: 'eu', caBytes: 7 });
  t.same(progress, ['setting up eu']);
  await t.rejects(setupRegistry(c, 'us', ctx), { code: 'UNKNOWN_REGISTRY' });
  await t.rejects(setupRegistry(c, 'self', ctx), { code: 'VALIDATION_FAILED' });
});
