export * from './errors.js';
export * from './labels.js';
export * from './operations.js';
export * from './safety.js';
export * from './schemas.js';
export * from './worker.js';
