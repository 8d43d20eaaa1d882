import { addService, parseQualifier, Stubs, type grpc, type ServeOptions } from '@faas/protocol';
import { PlatformError } from '@faas/errors';
import type { CodeStore } from './code-store.js';
import type { FunctionRegistry } from './function-registry.js';
import type { RegistryStatus } from './registry-durability.js';
import type { RuntimeRegistry } from './runtime-registry.js';
import type { SecretStore } from './secret-store.js';
import type { TriggerRegistry } from './trigger-registry.js';
import type { VersionRegistry } from './version-registry.js';

export interface StubsDomain {
  readonly code: CodeStore;
  readonly functions: FunctionRegistry;
  readonly runtimes: RuntimeRegistry;
  readonly triggers: TriggerRegistry;
  readonly versions: VersionRegistry;
  readonly secrets: SecretStore;
  /** Whether Redis keeps an append-only file, as last checked. */
  readonly registryStatus: () => RegistryStatus;
}

/**
 * The upload's bytes. A cancelled upload must not end like a complete one,
 * or a truncated bundle would be stored under its (wrong) digest.
 */
async function* chunksOf(requests: AsyncIterable<{ chunk: Uint8Array }>, signal: AbortSignal): AsyncIterable<Uint8Array> {
  for await (const request of requests) yield request.chunk;
  if (signal.aborted) throw new PlatformError('bad_request', 'the upload was cancelled before it completed');
}

export function addStubsService(server: grpc.Server, { code, functions, runtimes, triggers, versions, secrets, registryStatus }: StubsDomain, options: ServeOptions): void {
  addService(
    server,
    Stubs,
    {
      async putCode(requests, context) {
        return code.put(chunksOf(requests, context.signal));
      },

      async *getCode(request) {
        for await (const chunk of await code.read(request.digest)) yield { chunk };
      },

      async putFunction(request) {
        if (!request.function) throw new PlatformError('bad_request', 'function is required');
        return functions.put(request.function);
      },

      async getFunction(request) {
        return versions.resolve(request.name, parseQualifier(request.qualifier));
      },

      async listFunctions() {
        return { functions: await functions.list() };
      },

      async deleteFunction(request) {
        await functions.delete(request.name);
        await versions.deleteAll(request.name);
        return {};
      },

      async publishVersion(request) {
        return versions.publish(request.name);
      },

      async listVersions(request) {
        return { versions: await versions.list(request.name) };
      },

      async deleteVersion(request) {
        await versions.deleteVersion(request.name, request.version);
        return {};
      },

      async putAlias(request) {
        if (!request.alias) throw new PlatformError('bad_request', 'alias is required');
        return versions.putAlias(request.functionName, request.alias);
      },

      async getAlias(request) {
        return { alias: await versions.getAlias(request.functionName, request.name) };
      },

      async listAliases(request) {
        return { aliases: await versions.listAliases(request.functionName) };
      },

      async deleteAlias(request) {
        await versions.deleteAlias(request.functionName, request.name);
        return {};
      },

      async putRuntime(request) {
        if (!request.runtime) throw new PlatformError('bad_request', 'runtime is required');
        return runtimes.put(request.runtime);
      },

      async getRuntime(request) {
        return { runtime: await runtimes.get(request.name) };
      },

      async listRuntimes() {
        return { runtimes: await runtimes.list() };
      },

      async putTrigger(request) {
        if (!request.trigger) throw new PlatformError('bad_request', 'trigger is required');
        return triggers.put(request.trigger);
      },

      async getTrigger(request) {
        return { trigger: await triggers.get(request.name) };
      },

      async listTriggers() {
        return { triggers: await triggers.list() };
      },

      async deleteTrigger(request) {
        await triggers.delete(request.name);
        return {};
      },

      async putSecret(request) {
        return secrets.put(request.name, request.value, request.mode);
      },

      async listSecrets() {
        return { names: await secrets.names() };
      },

      async deleteSecret(request) {
        await secrets.delete(request.name);
        return {};
      },

      async getSecretValues(request) {
        return { values: await secrets.values(request.names) };
      },

      async getRegistryStatus() {
        return registryStatus();
      },
    },
    options,
  );
}
