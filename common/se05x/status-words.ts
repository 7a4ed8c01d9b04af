/**
 * The status words the SE05x IoT applet answers (simw se05x_tlv.h SM_* values, ISO 7816-4 §5.1.3).
 */
export const Sw = {
  OK: 0x9000,
  /** Wrong length: a body or Lc the command cannot take. */
  WRONG_LENGTH: 0x6700,
  /** Security status not satisfied (e.g. the object's policy needs a session this one is not). */
  SECURITY_STATUS: 0x6982,
  /** The policy given at creation is malformed or not allowed for the object type. */
  INVALID_POLICY: 0x6984,
  /** Conditions of use not satisfied (wrong object type for the command, applet locked, ...). */
  CONDITIONS_NOT_SATISFIED: 0x6985,
  /** Command not allowed: the object's policy forbids it. */
  COMMAND_NOT_ALLOWED: 0x6986,
  /** Wrong data: malformed TLVs, unknown object id, a value out of range. */
  WRONG_DATA: 0x6a80,
  /** Function not supported (an INS/P1/P2 the applet does not know). */
  FUNC_NOT_SUPPORTED: 0x6a81,
  /** File (applet) not found: SELECT of an AID not installed. */
  FILE_NOT_FOUND: 0x6a82,
  /** Not enough memory for the object. */
  FILE_FULL: 0x6a84,
  /** Incorrect P1/P2. */
  WRONG_P1P2: 0x6a86,
  /** Class not supported. */
  CLA_NOT_SUPPORTED: 0x6e00,
  /** Instruction not supported. */
  INS_NOT_SUPPORTED: 0x6d00,
  /** No precise diagnosis (the applet's catch-all for an internal failure). */
  UNKNOWN: 0x6f00,
} as const;

/** A status word's name, for messages (hex when unknown). */
export function swName(sw: number): string {
  const hit = Object.entries(Sw).find(([, v]) => v === sw);
  return `${sw.toString(16).toUpperCase().padStart(4, '0')}${hit ? ` ${hit[0]}` : ''}`;
}
