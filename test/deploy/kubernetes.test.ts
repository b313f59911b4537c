/**
 * deploy/kubernetes/: every object valid for the Kubernetes API (its schema,
 * through kubernetes-models, and the server's own rules), the checker shown
 * to refuse broken copies, and the values that make the run right: an
 * Indexed Job whose N agrees in its three places, the start time, the key
 * and the folders wired to the ConfigMaps, Secret and volume the docs create.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IContainer } from 'kubernetes-models/v1';
import { parse } from 'yaml';
import { REPO_ROOT } from '../helpers.ts';
import {
  containersOf,
  envOf,
  KUSTOMIZATION,
  MANIFEST_DIR,
  mergeJob,
  parseManifests,
  podSpecOf,
  problemsOf,
  readManifest,
  readManifests,
  schemaProblems,
  serverRuleProblems,
  shardsJob,
} from './manifests.ts';

const manifests = readManifests();
const DOC = 'docs/scale-out.md';

const onlyContainer = (job: IJob): IContainer => {
  const containers = job.spec!.template.spec!.containers;
  assert.equal(containers.length, 1);
  return containers[0]!;
};

describe('deploy/kubernetes/ is valid for the Kubernetes API', () => {
  test('the folder holds the PVC, the two Jobs and the results pod, one document each', () => {
    assert.deepEqual(
      manifests.map(({ where, object }) => `${where}: ${String(object.apiVersion)} ${String(object.kind)} ${object.metadata?.name}`),
      [
        'merge-job.yaml: batch/v1 Job tokenmeter-merge',
        'results-pod.yaml: v1 Pod tokenmeter-results',
        'results-pvc.yaml: v1 PersistentVolumeClaim tokenmeter-results',
        'shards-job.yaml: batch/v1 Job tokenmeter-shards',
      ],
    );
  });

  for (const { where, object } of manifests) {
    test(`${where} (${String(object.kind)}) passes the API schema and the server's rules`, async () => {
      assert.deepEqual(await problemsOf(object), []);
    });
  }

  test('kustomization.yaml lists the PVC and both Jobs, and names the image both Jobs use', () => {
    const kustomization = parse(readFileSync(path.join(MANIFEST_DIR, KUSTOMIZATION), 'utf8')) as {
      kind: string;
      resources: string[];
      images: { name: string; newName: string; newTag: string }[];
    };
    assert.equal(kustomization.kind, 'Kustomization');
    assert.deepEqual(kustomization.resources, ['results-pvc.yaml', 'shards-job.yaml', 'merge-job.yaml']);
    for (const file of kustomization.resources) assert.ok(existsSync(path.join(MANIFEST_DIR, file)), file);
    assert.deepEqual(kustomization.images.map((image) => image.name), ['tokenmeter']);
    assert.deepEqual([shardsJob(), mergeJob()].map((job) => onlyContainer(job).image), ['tokenmeter', 'tokenmeter']);
  });
});

describe('the checker refuses a broken manifest', () => {
  /** A broken copy of the shards Job: what breaks it, and the problem expected. */
  const cases: { what: string; breakIt: (job: IJob) => void; problem: string }[] = [
    { what: 'completionMode a number', breakIt: (job) => Object.assign(job.spec!, { completionMode: 1 }), problem: '/spec/completionMode must be string' },
    { what: 'completionMode misspelt', breakIt: (job) => Object.assign(job.spec!, { completionMode: 'indexed' }), problem: '/spec/completionMode must be equal to one of the allowed values' },
    { what: 'parallelism a string', breakIt: (job) => Object.assign(job.spec!, { parallelism: '4' }), problem: '/spec/parallelism must be integer' },
    { what: 'a container without a name', breakIt: (job) => delete (job.spec!.template.spec!.containers[0] as Partial<IContainer>).name, problem: '/spec/template/spec/containers/0 must have required property name' },
    { what: 'no pod template', breakIt: (job) => delete (job.spec as Partial<IJob['spec']>)!.template, problem: '/spec must have required property template' },
    { what: 'an env var from a Secret without its key', breakIt: (job) => delete (envOf(onlyContainer(job), 'SAMBANOVA_API_KEY')!.valueFrom!.secretKeyRef as { key?: string }).key, problem: '/spec/template/spec/containers/0/env/4/valueFrom/secretKeyRef must have required property key' },
    { what: 'a container without an image', breakIt: (job) => delete onlyContainer(job).image, problem: 'container tokenmeter: image is required' },
    { what: 'restartPolicy Always', breakIt: (job) => Object.assign(job.spec!.template.spec!, { restartPolicy: 'Always' }), problem: '/spec/template/spec/restartPolicy must be Never or OnFailure' },
    { what: 'Indexed without completions', breakIt: (job) => delete job.spec!.completions, problem: '/spec/completions is required when completionMode is Indexed' },
  ];
  for (const { what, breakIt, problem } of cases) {
    test(`a shards Job with ${what}: ${problem}`, async () => {
      const job = shardsJob();
      breakIt(job);
      assert.ok((await problemsOf(job as never)).includes(problem), JSON.stringify(await problemsOf(job as never)));
    });
  }

  test('the API schema alone lets a container without an image through: the server rule is what catches it', async () => {
    const job = shardsJob();
    delete onlyContainer(job).image;
    assert.deepEqual(await schemaProblems(job as never), []);
    assert.deepEqual(serverRuleProblems(job as never), ['container tokenmeter: image is required']);
  });

  test('a kind without a schema, a missing apiVersion and bad YAML are refused, not skipped', async () => {
    assert.deepEqual(await schemaProblems({ apiVersion: 'batch/v1', kind: 'Jobb', metadata: { name: 'x' } }), ['no schema for batch/v1 Jobb']);
    assert.deepEqual(await schemaProblems({ kind: 'Job' }), ['apiVersion and kind are required']);
    assert.throws(() => parseManifests('kind: Job\n  spec: [', 'bad.yaml'), /^Error: bad\.yaml: /);
  });
});

describe('the Jobs run what the docs set up', () => {
  const job = shardsJob();
  const container = onlyContainer(job);
  const podSpec = job.spec!.template.spec!;

  test('the shards Job is Indexed, with N in completions, parallelism and TOKENMETER_SHARDS alike, and never retries a shard', () => {
    const spec = job.spec!;
    assert.equal(spec.completionMode, 'Indexed');
    assert.equal(spec.parallelism, spec.completions);
    assert.equal(envOf(container, 'TOKENMETER_SHARDS')?.value, String(spec.completions));
    assert.equal(spec.completions, 4);
    assert.equal(podSpec.restartPolicy, 'Never');
    assert.equal(spec.backoffLimitPerIndex, 0);
    assert.equal(spec.backoffLimit, undefined, 'backoffLimit: 0 would stop every shard when one fails');
  });

  test('the shards run the scenario from its ConfigMap into /results/RUN/shard-INDEX on the PVC', () => {
    assert.deepEqual(container.command, undefined, "the image's ENTRYPOINT, tokenmeter");
    assert.deepEqual(container.args, ['run', '/etc/tokenmeter/scenario.yaml', '--out', '/results/$(TOKENMETER_RUN)/shard-$(JOB_COMPLETION_INDEX)']);
    const mounts = Object.fromEntries((container.volumeMounts ?? []).map((mount) => [mount.name, mount]));
    const volumes = Object.fromEntries((podSpec.volumes ?? []).map((volume) => [volume.name, volume]));
    assert.equal(mounts.scenario?.mountPath, '/etc/tokenmeter');
    assert.equal(volumes.scenario?.configMap?.name, 'tokenmeter-scenario');
    assert.equal(mounts.results?.mountPath, '/results');
    assert.equal(volumes.results?.persistentVolumeClaim?.claimName, readManifest<{ metadata: { name: string } }>('results-pvc.yaml').metadata.name);
    assert.deepEqual(readManifest<{ spec: { accessModes: string[] } }>('results-pvc.yaml').spec.accessModes, ['ReadWriteMany']);
  });

  test('every $(NAME) in the args is an env var of the container, in the Job controller\'s index among them', () => {
    const referenced = (container.args ?? []).flatMap((arg) => [...arg.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((match) => match[1]!));
    assert.deepEqual(referenced, ['TOKENMETER_RUN', 'JOB_COMPLETION_INDEX']);
    for (const name of referenced) assert.ok(envOf(container, name), name);
    assert.equal(envOf(container, 'JOB_COMPLETION_INDEX')?.valueFrom?.fieldRef?.fieldPath, "metadata.annotations['batch.kubernetes.io/job-completion-index']");
  });

  test('the start time and run name come from the run\'s ConfigMap, the key from the Secret under the variable the SambaNova scenarios name', () => {
    assert.deepEqual(envOf(container, 'TOKENMETER_START_AT')?.valueFrom?.configMapKeyRef, { name: 'tokenmeter-run', key: 'startAt' });
    assert.deepEqual(envOf(container, 'TOKENMETER_RUN')?.valueFrom?.configMapKeyRef, { name: 'tokenmeter-run', key: 'run' });
    const scenario = readFileSync(path.join(REPO_ROOT, 'scenarios', 'sambanova.yaml'), 'utf8');
    const variable = /^\s+apiKey: \$\{([A-Z_]+)\}$/m.exec(scenario)?.[1];
    assert.equal(variable, 'SAMBANOVA_API_KEY');
    assert.deepEqual(envOf(container, variable)?.valueFrom?.secretKeyRef, { name: 'tokenmeter-api-key', key: variable });
    // No literal value anywhere that looks like a key.
    assert.deepEqual(
      (container.env ?? []).filter((variable) => variable.value !== undefined).map((variable) => variable.name),
      ['TOKENMETER_SHARDS'],
    );
  });

  test('the merge Job waits suspended, and merges every shard folder of the same run on the same volume', () => {
    const merge = mergeJob();
    const mergeContainer = onlyContainer(merge);
    assert.equal(merge.spec!.suspend, true);
    assert.equal(merge.spec!.template.spec!.restartPolicy, 'Never');
    assert.deepEqual(mergeContainer.command, ['/bin/sh', '-c']);
    assert.deepEqual(mergeContainer.args, ['exec tokenmeter merge /results/"$TOKENMETER_RUN"/shard-* --out /results/"$TOKENMETER_RUN"/merged']);
    assert.deepEqual(envOf(mergeContainer, 'TOKENMETER_RUN'), envOf(container, 'TOKENMETER_RUN'));
    assert.deepEqual(merge.spec!.template.spec!.volumes, podSpec.volumes!.filter((volume) => volume.name === 'results'));
    assert.deepEqual(mergeContainer.volumeMounts, container.volumeMounts!.filter((mount) => mount.name === 'results'));
  });

  test("every pod runs as the image's non-root user (the Dockerfile's USER)", () => {
    const dockerfile = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const user = /^USER (\d+):(\d+)$/m.exec(dockerfile);
    assert.ok(user, 'the Dockerfile sets a numeric USER');
    for (const { where, object } of manifests.filter(({ object }) => podSpecOf(object) !== undefined)) {
      const context = podSpecOf(object)!.securityContext;
      assert.deepEqual([context?.runAsNonRoot, context?.runAsUser, context?.runAsGroup], [true, Number(user[1]), Number(user[2])], where);
      for (const each of containersOf(podSpecOf(object))) assert.equal(each.securityContext?.allowPrivilegeEscalation, false, `${where}: ${each.name}`);
    }
  });
});

describe(`${DOC} shows the manifests as they are`, () => {
  const doc = readFileSync(path.join(REPO_ROOT, DOC), 'utf8');

  for (const file of [KUSTOMIZATION, ...manifests.map(({ where }) => where)]) {
    test(`it shows deploy/kubernetes/${file}`, () => {
      const text = readFileSync(path.join(MANIFEST_DIR, file), 'utf8');
      assert.ok(doc.includes(['```yaml', `# not a scenario: deploy/kubernetes/${file}`, text + '```'].join('\n')), `${DOC} differs from deploy/kubernetes/${file}`);
    });
  }

  test('its other Kubernetes objects (the object-store variant) pass the API schema and the server\'s rules too', async () => {
    const blocks = [...doc.matchAll(/^```yaml\n(# not a scenario: (?!deploy\/kubernetes\/)[^\n]*)\n([\s\S]*?)^```$/gm)];
    const objects = blocks.flatMap((block) => parseManifests(block[2]!, block[1]!)).filter(({ object }) => typeof object.kind === 'string');
    assert.ok(objects.length >= 1, 'the object-store variant is there');
    for (const { where, object } of objects) assert.deepEqual(await problemsOf(object), [], where);
  });
});
