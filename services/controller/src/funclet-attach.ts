/**
 * The controller's end of Controller.Attach, one stream per funclet: each
 * report updates the funclet directory and the books (placement's
 * applyReport), the sandboxes nobody owns are claimed, and those the
 * funclet then grants are adopted with their function's config. The
 * stream's end, or a silence, takes the funclet and its sandboxes off the
 * books at once, so calls stop going there within a report interval.
 */
import { isPlatformError } from '@faas/errors';
import { FUNCLET_ID, ControllerAttachResponseSchema, create, type Controller, type DuplexStream, type ControllerAttachRequest, type SandboxReport } from '@faas/protocol';
import type { Logger } from '@faas/telemetry';
import type { FunctionSource } from './call-runner.js';
import type { FuncletDirectory } from './funclet-directory.js';
import type { FuncletInfo } from './funclet-port.js';
import type { Placement } from './placement.js';

export interface AttachDeps {
  readonly controllerId: string;
  readonly directory: FuncletDirectory;
  readonly placement: Placement;
  readonly functions: FunctionSource;
  readonly log: Logger;
}

const HOST_PORT = /^(?:[^\s:]+|\[[0-9a-fA-F:]+\]):\d{1,5}$/;
const LOOKUP_BUDGET_MS = 5_000;

export function serveAttach(stream: DuplexStream<typeof Controller.method.attach>, deps: AttachDeps): void {
  let funcletId: string | undefined;
  let over = false;
  stream.write(create(ControllerAttachResponseSchema, { controllerId: deps.controllerId }));

  stream.on('data', (report: ControllerAttachRequest) => {
    if (over) return;
    const problem = reportProblem(report);
    if (problem) {
      deps.log.warn({ funclet: report.funcletId.slice(0, 64), problem }, 'refusing a funclet report');
      return;
    }
    if (funcletId !== undefined && funcletId !== report.funcletId) {
      deps.log.warn({ funclet: funcletId, renamed: report.funcletId }, 'a funclet changed its id on its stream; ignoring the report');
      return;
    }
    const first = funcletId === undefined;
    funcletId = report.funcletId;
    const { info, replaced } = deps.directory.report(
      stream,
      {
        id: report.funcletId,
        address: report.address,
        bootId: report.bootId,
        memoryMbTotal: report.memoryMbTotal,
        memoryMbUsed: report.memoryMbUsed,
        runtimes: [...report.runtimes],
      },
      report.reportIntervalMs,
    );
    if (replaced) deps.placement.forgetFunclet(info.id, 'funclet restarted');
    if (first) deps.log.info({ funclet: info.id, address: info.address, sandboxes: report.sandboxes.length }, 'funclet attached');
    const { claim, adopt } = deps.placement.applyReport(info, report.sandboxes);
    if (claim.length > 0) stream.write(create(ControllerAttachResponseSchema, { claim }));
    for (const sandbox of adopt) void adoptSandbox(info, sandbox, deps);
  });

  const gone = (reason: string) => {
    if (over) return;
    over = true;
    if (funcletId !== undefined && deps.directory.detach(funcletId, stream)) {
      deps.log.warn({ funclet: funcletId, reason }, 'funclet detached');
      deps.placement.forgetFunclet(funcletId, `its stream ended (${reason})`);
    }
  };
  stream.on('end', () => {
    gone('ended');
    stream.end();
  });
  stream.on('cancelled', () => gone('cancelled'));
  stream.on('error', (error: Error) => gone(error.message));
}

/** A sandbox granted to us: on the books with its function's config, or destroyed when the function is gone. */
async function adoptSandbox(funclet: FuncletInfo, sandbox: SandboxReport, deps: AttachDeps): Promise<void> {
  try {
    const fn = await deps.functions.get(sandbox.functionName, { deadlineMs: Date.now() + LOOKUP_BUDGET_MS });
    deps.placement.adopt(funclet, sandbox, fn);
  } catch (error) {
    if (isPlatformError(error) && error.code === 'function_not_found') {
      deps.placement.adopt(funclet, sandbox, undefined);
      return;
    }
    deps.log.warn({ sandbox: sandbox.sandboxId, err: (error as Error).message }, 'cannot adopt a sandbox yet; trying at the next report');
    deps.placement.adoptLater(funclet, sandbox);
  }
}

function reportProblem(report: ControllerAttachRequest): string | undefined {
  if (!FUNCLET_ID.test(report.funcletId)) return 'funclet_id is not a valid funclet id';
  if (!HOST_PORT.test(report.address)) return 'address must be host:port';
  if (!report.bootId) return 'boot_id is required';
  return undefined;
}
