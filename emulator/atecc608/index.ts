/**
 * The ATECC608 model's public surface: the chip, its factory and its image files. Nothing outside
 * emulator/ should need more than this (and ChipPort).
 */
export { Atecc608Chip, type ChipOptions } from './chip.js';
export { createBlankChip, newSerial, REVISION_608A, REVISION_608B, type BlankChipOptions } from './factory.js';
export { chipImage, chipFromImage, saveChipImage, loadChipImage, type ChipImage } from './image.js';
export type { FaultOptions } from './faults.js';
export { Status, Opcode } from './status.js';
export { execTimeMs, watchdogMs } from './timing.js';
