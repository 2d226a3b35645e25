/**
 * Resolves on the first SIGINT/SIGTERM so a command can stop cleanly; a second
 * signal means the operator is done waiting and exits at once (children are
 * still reaped by their own parent-death watch, see src/local/kinesis.ts).
 */
export function shutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (received) {
        process.stderr.write(`cali: second ${signal}, exiting now\n`);
        process.exit(130);
      }
      received = true;
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
