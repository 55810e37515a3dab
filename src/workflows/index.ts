// The workflow bundle's entry point: plain exported workflow functions only.
export { imageWorkflow } from './image';
export { batchWorkflow } from './batch';
export { accountWorkflow } from './account';
export { batchApiJobWorkflow } from './batch-api-job';
