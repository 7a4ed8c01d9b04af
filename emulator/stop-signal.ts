/**
 * Resolves at the first SIGINT or SIGTERM (then stops listening for them): how a serving
 * command waits to shut down cleanly.
 */
export function untilStopSignal(): Promise<void> {
  return new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
