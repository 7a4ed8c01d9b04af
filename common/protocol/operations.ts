/**
 * The operations routes of issue 18, defined once for their clients, the server's routes and the
 * OpenAPI document: the pause a station lived through while the server was unreachable (reported
 * once it could reach the server again), and an operator parking an outbox job.
 */
import { z } from 'zod';

/** POST /v1/line/pauses. */
export const linePause = z
  .object({
    workOrder: z.string().min(1).max(128),
    since: z.iso.datetime(),
    until: z.iso.datetime(),
    /** Why the line stood still, as the station printed it. */
    reason: z.string().min(1).max(500),
  })
  .strict()
  .refine((p) => p.since <= p.until, { message: 'since must not be after until', path: ['until'] });

/** A reported pause. */
export type LinePause = z.infer<typeof linePause>;

/** POST /v1/outbox/:id/park. */
export const outboxPark = z.object({ reason: z.string().trim().min(1).max(500) }).strict();
