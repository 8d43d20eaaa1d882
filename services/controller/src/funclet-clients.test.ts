import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { PlatformError } from '@faas/errors';
import { create, Funclet, FunctionConfigSchema, InvocationSchema, addService, grpc, listen, shutdown } from '@faas/protocol';
import { GrpcFunclets } from './funclet-clients.js';
import { FuncletUnreachableError, type FuncletInfo } from './funclet-port.js';

const fn = create(FunctionConfigSchema, { name: 'hello', runtime: 'nodejs', version: 1n });

function funcletAt(address: string): FuncletInfo {
  return { id: 'f1', address, bootId: 'b', memoryMbTotal: 0, memoryMbUsed: 0, runtimes: [], seenAtMs: 0 };
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('GrpcFunclets', () => {
  let server: grpc.Server;
  let address: string;
  const clients = new GrpcFunclets(undefined);

  beforeAll(async () => {
    server = new grpc.Server();
    addService(server, Funclet, {
      async createSandbox() {
        throw new PlatformError('service_unavailable', 'stubs is down');
      },
      async invoke() {
        throw new PlatformError('sandbox_not_found', 'no such sandbox');
      },
      async destroySandbox() {
        return {};
      },
      async listSandboxes() {
        return { sandboxes: [] };
      },
      async prefetchCode() {
        return {};
      },
    });
    address = await listen(server, '127.0.0.1:0');
  });
  afterAll(async () => {
    clients.closeAll();
    await shutdown(server, 1_000);
  });

  it('tells a funclet that cannot be reached apart from one that answers', async () => {
    const nobody = funcletAt(`127.0.0.1:${await closedPort()}`);
    const unreachable = await clients.createSandbox(nobody, fn, { deadlineMs: Date.now() + 5_000 }).catch((e: unknown) => e);
    expect(unreachable).toBeInstanceOf(FuncletUnreachableError);

    // A funclet answering service_unavailable itself is reachable.
    const answered = await clients.createSandbox(funcletAt(address), fn, { deadlineMs: Date.now() + 5_000 }).catch((e: unknown) => e);
    expect(answered).toBeInstanceOf(PlatformError);
    expect((answered as PlatformError).code).toBe('service_unavailable');
  });

  it('passes the funclet’s own error codes through', async () => {
    const error = await clients
      .invoke(funcletAt(address), 'sb-x', create(InvocationSchema, {}), 1_000, { deadlineMs: Date.now() + 5_000 })
      .catch((e: unknown) => e);
    expect((error as PlatformError).code).toBe('sandbox_not_found');
  });
});
