// deploy/kubernetes, read without a cluster: kustomize must render it, every
// rendered object must validate against the Kubernetes schemas (and KEDA's
// for the ScaledObject), and it must describe the platform the services
// actually read: each variable a manifest sets is one its service knows.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT, SERVICE_NAMES } from '@faas/launcher';
// @ts-expect-error: a plain ESM script without type declarations.
import { serviceSchemas } from '../../scripts/env-table.mjs';

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}
interface Container {
  name: string;
  command?: string[];
  env?: Array<{ name: string }>;
  envFrom?: Array<{ configMapRef?: { name: string } }>;
  securityContext?: { capabilities?: { add?: string[]; drop?: string[] }; privileged?: boolean; seccompProfile?: { type: string } };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface PodSpec {
  containers: Container[];
  volumes?: Array<{ name: string; hostPath?: { path: string } }>;
}

const deployDir = path.join(REPO_ROOT, 'deploy', 'kubernetes');
const rendered = execFileSync('kubectl', ['kustomize', deployDir], { encoding: 'utf8' });
const objects = parseAllDocuments(rendered).map((document) => document.toJS() as KubeObject);
const find = (kind: string, name: string) => {
  const object = objects.find((candidate) => candidate.kind === kind && candidate.metadata.name === name);
  if (!object) throw new Error(`no ${kind} ${name} is rendered`);
  return object;
};
const podSpecOf = (object: KubeObject) => (object.spec as { template: { spec: PodSpec } }).template.spec;
const configMapNamed = (name: string) => objects.find((object) => object.kind === 'ConfigMap' && object.metadata.name === name)?.data;
// Generated ConfigMaps are named <name>-<hash of the contents>.
const configMapData = (name: string) => objects.find((object) => object.kind === 'ConfigMap' && object.metadata.name.startsWith(`${name}-`))?.data;

/** The module of kubernetes-models (or its KEDA package) that holds the model of apiVersion/kind. */
function modelModule({ apiVersion, kind }: KubeObject): string {
  if (apiVersion.startsWith('keda.sh/')) return `@kubernetes-models/keda/${apiVersion}/${kind}`;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

// Variables no schema lists because a library reads them: the AWS SDK's
// credentials, and the pod's own address the funclet's advertised address is made from.
const readByOthers = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'POD_IP']);

describe('deploy/kubernetes', () => {
  it('renders with kubectl kustomize into the namespace faas', () => {
    expect(objects.length).toBeGreaterThan(10);
    for (const object of objects.filter((candidate) => candidate.kind !== 'Namespace')) {
      expect(object.metadata.namespace, `${object.kind} ${object.metadata.name}`).toBe('faas');
    }
  });

  it('validates every rendered object against its schema', async () => {
    const failures: string[] = [];
    for (const object of objects) {
      const label = `${object.apiVersion} ${object.kind} ${object.metadata.name}`;
      const module = (await import(modelModule(object)).catch(() => undefined)) as Record<string, new (data: unknown) => { validate(): void }> | undefined;
      const Model = module?.[object.kind];
      if (!Model) {
        failures.push(`${label}: no schema for this kind`);
        continue;
      }
      try {
        new Model(object).validate();
      } catch (error) {
        failures.push(`${label}: ${(error as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('has each part the platform needs', () => {
    expect(find('DaemonSet', 'funclet')).toBeDefined();
    expect((find('StatefulSet', 'controller').spec as { replicas: number }).replicas).toBe(2);
    expect(find('PodDisruptionBudget', 'controller').spec).toMatchObject({ minAvailable: 1 });
    expect(find('Deployment', 'httptrigger')).toBeDefined();
    expect(find('Service', 'httptrigger')).toBeDefined();
    expect(find('HorizontalPodAutoscaler', 'httptrigger').spec).toMatchObject({ scaleTargetRef: { kind: 'Deployment', name: 'httptrigger' } });
    expect(find('ScaledObject', 'queue-worker').spec).toMatchObject({
      scaleTargetRef: { name: 'queue-worker' },
      triggers: [{ type: 'nats-jetstream', metadata: { stream: 'FAAS_INVOCATIONS', consumer: 'worker' } }],
    });
    expect(configMapData('faas-code-store')).toMatchObject({ STUBS_CODE_STORE: 's3' });
  });

  it('lists every controller replica by its stable name in CONTROLLER_ADDRESS', () => {
    const controller = find('StatefulSet', 'controller').spec as { replicas: number; serviceName: string };
    const addresses = configMapData('faas-common')!.CONTROLLER_ADDRESS!.split(',');
    expect(addresses).toEqual(Array.from({ length: controller.replicas }, (_, index) => `controller-${index}.${controller.serviceName}.faas.svc:50051`));
  });

  // A ConfigMap several services load (faas-common, as compose.yaml's
  // common environment) may hold what only some of them read.
  it('sets only variables its service reads, and shares only variables some service reads', async () => {
    const schemas = (await serviceSchemas()) as Array<{ name: string; variables: Array<{ name: string }> }>;
    const known = new Map(schemas.map(({ name, variables }) => [name, new Set(variables.map((variable) => variable.name))]));
    const readBySome = new Set(schemas.flatMap(({ variables }) => variables.map((variable) => variable.name)));
    const unknown: string[] = [];
    const workloads = objects.filter((object) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(object.kind));
    expect(workloads.map((object) => object.metadata.name).sort()).toEqual([...SERVICE_NAMES].sort());
    for (const workload of workloads) {
      for (const container of podSpecOf(workload).containers) {
        const variables = known.get(container.name)!;
        for (const { name } of container.env ?? []) {
          if (!variables.has(name) && !readByOthers.has(name)) unknown.push(`${container.name}: ${name}`);
        }
        for (const source of container.envFrom ?? []) {
          const map = source.configMapRef!.name;
          for (const name of Object.keys(configMapNamed(map) ?? {})) if (!readBySome.has(name)) unknown.push(`${map}: ${name}`);
        }
      }
    }
    expect([...new Set(unknown)]).toEqual([]);
  });

  it('gives the funclet compose.yaml\'s capabilities, not privileged mode, the host cgroups and a host state folder', () => {
    const compose = parse(readFileSync(path.join(REPO_ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as { services: { funclet: { cap_add: string[] } } };
    const pod = podSpecOf(find('DaemonSet', 'funclet'));
    const funclet = pod.containers.find((container) => container.name === 'funclet')!;
    expect(funclet.securityContext?.privileged).not.toBe(true);
    expect(funclet.securityContext?.capabilities?.drop).toEqual(['ALL']);
    expect([...funclet.securityContext!.capabilities!.add!].sort()).toEqual([...compose.services.funclet.cap_add].sort());
    expect(funclet.securityContext?.seccompProfile?.type).toBe('Unconfined');
    // Something must reap the sandboxes' re-parented processes, as compose's `init: true` does.
    expect(funclet.command?.[0]).toBe('/usr/bin/tini');
    const hostPathOf = (mountPath: string) => {
      const mount = funclet.volumeMounts?.find((candidate) => candidate.mountPath === mountPath);
      return pod.volumes?.find((volume) => volume.name === mount?.name)?.hostPath?.path;
    };
    expect(hostPathOf('/sys/fs/cgroup')).toBe('/sys/fs/cgroup');
    expect(hostPathOf('/var/lib/faas/funclet')).toBe('/var/lib/faas/funclet');
  });

  it('ships values files for the upstream NATS and Redis charts that match faas-common', () => {
    const nats = parse(readFileSync(path.join(deployDir, 'helm', 'nats-values.yaml'), 'utf8')) as { config: { cluster: { enabled: boolean; replicas: number }; jetstream: { enabled: boolean } } };
    const redis = parse(readFileSync(path.join(deployDir, 'helm', 'redis-values.yaml'), 'utf8')) as { architecture: string; sentinel: { enabled: boolean; masterSet: string }; replica: { replicaCount: number } };
    const common = configMapData('faas-common')!;
    expect(nats.config.cluster).toMatchObject({ enabled: true, replicas: 3 });
    expect(nats.config.jetstream.enabled).toBe(true);
    expect(Number(common.NATS_STREAM_REPLICAS)).toBe(nats.config.cluster.replicas);
    expect(redis.architecture).toBe('replication');
    expect(redis.sentinel.enabled).toBe(true);
    expect(common.REDIS_SENTINEL_MASTER).toBe(redis.sentinel.masterSet);
    expect(common.REDIS_SENTINELS!.split(',')).toHaveLength(redis.replica.replicaCount);
  });
});
