/**
 * Loaded with `node --import @faas/telemetry/register` before a service's
 * own code, because under ESM the instrumentations can only patch modules
 * (grpc-js, http) whose loading they see. Nothing here may import the app.
 */
import { register } from 'node:module';
import { startTelemetry } from './sdk.js';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
startTelemetry();
