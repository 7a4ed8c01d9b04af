/**
 * `keyline emulator serve --chip se050`: the chip images in a folder, each served over JRCP v1
 * on its own TCP port (chip i on port P + i; all on free ports when P is 0), as a rack of card
 * readers would be: JRCP v1 carries no reader address, so NXP's middleware, pointed at one
 * `host:port`, talks to one chip. Each image is saved after every APDU that may have changed it,
 * before the reply. The manufacturer root comes from --manufacturer-root, else certs-dev/ when
 * the dev ceremony wrote one there, else the chips folder (made there on first use).
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AppletVersionName } from '../../common/se05x/applet-constants.js';
import { createManufacturerRoot, hasManufacturerRoot, loadManufacturerRoot, MANUFACTURER_ROOT_FILES, writeManufacturerRoot } from '../../common/se05x/manufacturer-root.js';
import { se050ChangesState } from './chip.js';
import { openSe050Dir, type StoredSe050 } from './chip-dir.js';
import { saveSe050Image } from './image.js';
import { JrcpServer } from './jrcp/jrcp-server.js';
import { listenJrcpTcp, type JrcpTcpListener } from './jrcp/tcp.js';

/** What to serve. */
export interface ServeSe050Options {
  dir: string;
  count: number;
  applet: AppletVersionName;
  host: string;
  /** First port (0: each chip on a free port). */
  port: number;
  timing: boolean;
  /** Folder of the manufacturer root; see the file comment for the default. */
  rootDir?: string;
  /** Where the dev ceremony writes its root (default certs-dev). */
  devRootDir?: string;
  log: Logger;
}

/** The running servers. */
export interface Se050Service {
  chips: StoredSe050[];
  listeners: JrcpTcpListener[];
  /** The manufacturer root certificate file the chips chain to. */
  rootCertPath: string;
  close(): Promise<void>;
}

/** Picks, loads or (in the chips folder) creates the manufacturer root. */
async function resolveRoot(o: ServeSe050Options): Promise<{ dir: string; root: Awaited<ReturnType<typeof loadManufacturerRoot>> }> {
  const dev = o.devRootDir ?? 'certs-dev';
  const dir = o.rootDir ?? (hasManufacturerRoot(dev) ? dev : o.dir);
  if (!o.rootDir && !hasManufacturerRoot(dir)) {
    await writeManufacturerRoot(dir, await createManufacturerRoot());
    o.log.info({ dir }, 'no SE050 manufacturer root found: made one in the chips folder');
  }
  return { dir, root: await loadManufacturerRoot(dir) };
}

/** Opens the chips and listens for each. */
export async function serveSe050(o: ServeSe050Options): Promise<Se050Service> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(o.dir, { recursive: true });
  const { dir: rootDir, root } = await resolveRoot(o);
  const chips = await openSe050Dir(o.dir, o.count, root, o.applet, { timing: o.timing });
  const listeners: JrcpTcpListener[] = [];
  try {
    for (const [i, s] of chips.entries()) {
      const server = new JrcpServer({
        chip: s.chip,
        honourTiming: o.timing,
        log: o.log,
        afterApdu: (capdu) => (se050ChangesState(capdu) ? saveSe050Image(s.chip, s.file) : undefined),
      });
      listeners.push(await listenJrcpTcp(server, { host: o.host, port: o.port === 0 ? 0 : o.port + i }));
    }
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    throw err;
  }
  return {
    chips,
    listeners,
    rootCertPath: join(rootDir, MANUFACTURER_ROOT_FILES.cert),
    close: async () => {
      await Promise.all(listeners.map((l) => l.close()));
      // Every change was saved before its reply; this last pass is belt and braces.
      await Promise.all(chips.map((s) => saveSe050Image(s.chip, s.file)));
    },
  };
}
