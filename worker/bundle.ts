/**
 * Build step: bundles the workflows once (`npm run build`) into dist/workflow-bundle.js,
 * which the production worker loads instead of bundling at start-up.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

const root = fileURLToPath(new URL('..', import.meta.url));
const { code } = await bundleWorkflowCode({ workflowsPath: `${root}workflows/index.ts` });
mkdirSync(`${root}dist`, { recursive: true });
writeFileSync(`${root}dist/workflow-bundle.js`, code);
process.stderr.write(`workflow bundle written: dist/workflow-bundle.js (${code.length} bytes)\n`);
