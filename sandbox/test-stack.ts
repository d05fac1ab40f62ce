/**
 * `npm run stack:test`: starts the same stack as the test global setup and keeps it
 * running, printing the variables that make `vitest` reuse it. Ctrl-C tears it down.
 */
import { startTestStack } from '../test/support/global-setup.js';

const stack = await startTestStack();
process.stdout.write(
  `export BWM_TEST_KUBECONFIG=${stack.kubeconfig}\nexport BWM_TEST_TEMPORAL=${stack.temporalAddress}\nexport BURST_TOOLS_BIN=${stack.toolsBin}\n`,
);
process.stderr.write('[test-stack] running; Ctrl-C to stop\n');
const stop = async () => {
  await stack.teardown();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
setInterval(() => {}, 1 << 30);
