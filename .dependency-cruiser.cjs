/**
 * The import graph's rules (npm run lint): no cycles, and no arrow from a lower layer to a
 * higher one. Layers, lowest first: common → secure-element → emulator | station | firmware-sim;
 * common → server/{store,hsm,audit} → server/ca → server/services, registry, enroll → server/api
 * → the composition roots (server/main.ts, server/start-*.ts, server/open-ca.ts and CLI files).
 * Tests, benches, scripts and fuzz targets may import anything.
 */
const cli = ['^server/(main|cli|open-ca)\\.ts$', '^server/start-[a-z-]+\\.ts$', '^server/[a-z-]+-cli\\.ts$', '^server/[a-z]+/cli\\.ts$', '^server/[a-z]+/[a-z]+-cli\\.ts$', '^(station|firmware-sim|emulator)/cli\\.ts$', '^bin/'];
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'a cycle makes load order and ownership unclear', from: {}, to: { circular: true } },
    { name: 'common-is-lowest', severity: 'error', from: { path: '^common/' }, to: { path: '^(server|station|firmware-sim|emulator|secure-element)/' } },
    { name: 'secure-element-is-host-only', severity: 'error', comment: 'the host library knows no emulator, server, station or device', from: { path: '^secure-element/' }, to: { path: '^(server|station|firmware-sim|emulator)/' } },
    { name: 'emulator-is-a-model', severity: 'error', comment: 'bytes in, bytes out: the model knows nothing of the line or the server', from: { path: '^emulator/' }, to: { path: '^(server|station|firmware-sim)/' } },
    { name: 'devices-and-stations-are-clients', severity: 'error', comment: 'station and firmware-sim reach the server only over the wire', from: { path: '^(station|firmware-sim)/' }, to: { path: '^server/' } },
    { name: 'station-and-device-apart', severity: 'error', from: { path: '^station/' }, to: { path: '^firmware-sim/' } },
    { name: 'device-and-station-apart', severity: 'error', from: { path: '^firmware-sim/' }, to: { path: '^station/' } },
    { name: 'server-parts-not-outward', severity: 'error', from: { path: '^server/' }, to: { path: '^(station|firmware-sim|emulator|test|bench|fuzz|scripts)/' } },
    { name: 'store-hsm-audit-are-lowest', severity: 'error', comment: 'persistence and keys know no CA logic, services or wire',
      from: { path: '^server/(store|hsm|audit)/', pathNot: cli }, to: { path: '^server/(ca|services|registry|enroll|api|est|ceremony|console)/' } },
    { name: 'ca-knows-no-wire-or-service', severity: 'error', comment: 'the CA signs through a Signer: no store, services, HTTP or MQTT',
      from: { path: '^server/ca/' }, to: { path: '^server/(store|services|registry|enroll|api|est|ceremony)/|^server/hsm/pkcs11' } },
    { name: 'services-know-no-wire', severity: 'error', comment: 'services take typed data: no HTTP, no MQTT',
      from: { path: '^server/services/' }, to: { path: '^server/(api|enroll|est|console)/' } },
    { name: 'api-is-thin', severity: 'error', comment: 'the API (and EST and the console beside it) calls services: no SQL, no PKCS#11',
      from: { path: '^server/(api|est|console)/', pathNot: cli }, to: { path: '^server/(store/(sqlite|postgres)|hsm/pkcs11)' } },
    { name: 'composition-roots-are-not-imported', severity: 'error', comment: 'only entry points import the composition roots',
      from: { path: '^(server|common|secure-element|emulator|station|firmware-sim)/', pathNot: cli }, to: { path: cli } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
    exclude: { path: '^node_modules' },
  },
};
