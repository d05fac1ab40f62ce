/** The workflows the worker registers (workflowsPath / the production bundle). */
export { burstWorker } from './burst-worker.js';
export { destroyWorker } from './destroy.js';
export { drainWorker } from './drain.js';
export { provisionWorkers } from './provision.js';
export { reaper } from './reaper.js';
