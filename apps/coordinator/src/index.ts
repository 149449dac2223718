export { Coordinator, coordinatorOptionsFromEnv } from './coordinator.js';
