/**
 * Typed requests for service-level tests, made the one way the services accept them: through the
 * station API's schemas (as the route does), so a test cannot hand a service what no caller could.
 */
import { chipSerial, unitIssueRequest, type ChipSerial, type UnitIssueBody, type UnitIssueRequest } from '../../common/protocol/station-api.js';

/** A unit request as POST /v1/units would parse it (throws a ZodError on a body the route would refuse). */
export const issueReq = (body: UnitIssueBody): UnitIssueRequest => unitIssueRequest.parse(body);

/** A checked chip serial. */
export const serialOf = (s: string): ChipSerial => chipSerial.parse(s);
