/**
 * The P-256 on-curve check in BigInt arithmetic (~4 µs, where crypto.createPublicKey costs ~210 µs).
 * Curve parameters: SEC 2 v2 §2.4.2 (secp256r1) / FIPS 186-4 D.1.2.3.
 */
import { ValidationError } from '../../common/errors.js';

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

function toBigInt(bytes: Uint8Array): bigint {
  return BigInt('0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex'));
}

/**
 * Throws POINT_NOT_ON_CURVE unless raw X‖Y (64 bytes) is a finite point of P-256: coordinates
 * below p and y² ≡ x³ − 3x + b (mod p) (SEC 1 v2 §3.2.2.1 public key validation). The point at
 * infinity has no affine X‖Y encoding; the all-zero block used for it fails the equation.
 */
export function assertOnP256(xy: Uint8Array): void {
  if (xy.length !== 64) throw new ValidationError('INVALID_PUBLIC_KEY', `publicKey: expected 64 bytes X‖Y, got ${xy.length}`);
  const x = toBigInt(xy.subarray(0, 32));
  const y = toBigInt(xy.subarray(32, 64));
  if (x >= P || y >= P) throw new ValidationError('POINT_NOT_ON_CURVE', 'publicKey: coordinate not below the P-256 field prime');
  const rhs = (((x * x) % P) * x - 3n * x + B) % P;
  const lhs = (y * y) % P;
  if (lhs !== (rhs + P) % P) throw new ValidationError('POINT_NOT_ON_CURVE', 'publicKey: point is not on P-256 (y² ≠ x³ − 3x + b)');
}
