/**
 * deploy/kubernetes/ as a cluster gets it: every YAML document of every file,
 * each checked against the Kubernetes API's schema for its kind by
 * kubernetes-models (its ajv validators are compiled from the API's OpenAPI
 * document, one model per kind: https://github.com/tommy351/kubernetes-models-ts),
 * plus the few rules the API server adds that the schema does not carry.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IContainer, IPodSpec } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../helpers.ts';

export const MANIFEST_DIR = path.join(REPO_ROOT, 'deploy', 'kubernetes');

/** kustomize's own file: not an object of the Kubernetes API. */
export const KUSTOMIZATION = 'kustomization.yaml';

/** One YAML document of deploy/kubernetes/. */
export interface Manifest {
  /** `shards-job.yaml`, or `shards-job.yaml#2` for a file's second document. */
  where: string;
  object: { apiVersion?: unknown; kind?: unknown; metadata?: { name?: string }; [field: string]: unknown };
}

/** Every document of one YAML text; a YAML syntax error throws, with where it is. */
export function parseManifests(text: string, file: string): Manifest[] {
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) throw new Error(`${file}: empty after its comments`);
  return documents.map((document, index) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map((error) => error.message).join('; ')}`);
    return { where: index === 0 ? file : `${file}#${index + 1}`, object: document.toJS() as Manifest['object'] };
  });
}

/** The YAML files of DIR, kustomization.yaml aside, every document of each. */
export function readManifests(dir = MANIFEST_DIR): Manifest[] {
  const files = readdirSync(dir).filter((name) => /\.ya?ml$/.test(name) && name !== KUSTOMIZATION).sort();
  return files.flatMap((file) => parseManifests(readFileSync(path.join(dir, file), 'utf8'), file));
}

/** The one document of FILE in deploy/kubernetes/. */
export function readManifest<T>(file: string): T {
  const [manifest, ...more] = parseManifests(readFileSync(path.join(MANIFEST_DIR, file), 'utf8'), file);
  if (manifest === undefined || more.length > 0) throw new Error(`${file}: one document expected`);
  return manifest.object as T;
}

export const shardsJob = (): IJob => readManifest<IJob>('shards-job.yaml');
export const mergeJob = (): IJob => readManifest<IJob>('merge-job.yaml');

/** `batch/v1` + `Job` → `kubernetes-models/batch/v1/Job`; `v1` + `Pod` → `kubernetes-models/v1/Pod`. */
const modelModule = (apiVersion: string, kind: string): string => `kubernetes-models/${apiVersion}/${kind}`;

/**
 * What the API's schema finds wrong with OBJECT: `PATH message` per problem
 * (ajv's, e.g. `/spec/completionMode must be string`), none when it is valid.
 */
export async function schemaProblems(object: Manifest['object']): Promise<string[]> {
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return ['apiVersion and kind are required'];
  type ModelClass = new (data: unknown) => { validate(): void };
  let Model: ModelClass | undefined;
  try {
    Model = ((await import(modelModule(apiVersion, kind))) as Record<string, ModelClass | undefined>)[kind];
  } catch (error) {
    if (/Cannot find package 'kubernetes-models'/.test(String(error))) return ['kubernetes-models is not installed: run npm ci'];
    // No module for this apiVersion and kind: an unknown kind, refused like an invalid one.
  }
  if (Model === undefined) return [`no schema for ${apiVersion} ${kind}`];
  try {
    new Model(object).validate();
    return [];
  } catch (error) {
    const errors = (error as { errors?: { instancePath: string; message?: string }[] }).errors;
    if (errors === undefined) throw error;
    return errors.map((problem) => `${problem.instancePath || '/'} ${problem.message ?? ''}`.trim());
  }
}

/** The pod spec of a Pod, or of a Job's pod template. */
export function podSpecOf(object: Manifest['object']): IPodSpec | undefined {
  if (object.kind === 'Pod') return object.spec as IPodSpec | undefined;
  if (object.kind === 'Job') return (object as unknown as IJob).spec?.template?.spec;
  return undefined;
}

export const containersOf = (spec: IPodSpec | undefined): IContainer[] => [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];

/**
 * Rules the API server enforces on these kinds beyond the OpenAPI schema,
 * which leaves them out (a container's image, for one, is optional there so
 * that controllers may default it, but a pod without one is refused).
 */
export function serverRuleProblems(object: Manifest['object']): string[] {
  const problems: string[] = [];
  if (!object.metadata?.name) problems.push('/metadata/name is required');
  for (const [index, container] of containersOf(podSpecOf(object)).entries()) {
    if (!container.image) problems.push(`container ${container.name ?? index}: image is required`);
  }
  if (object.kind === 'Job') {
    const spec = (object as unknown as IJob).spec;
    const restartPolicy = spec?.template?.spec?.restartPolicy;
    if (restartPolicy !== 'Never' && restartPolicy !== 'OnFailure') problems.push('/spec/template/spec/restartPolicy must be Never or OnFailure');
    if (spec?.completionMode === 'Indexed' && spec.completions === undefined) problems.push('/spec/completions is required when completionMode is Indexed');
    if (spec?.backoffLimitPerIndex !== undefined && (spec.completionMode !== 'Indexed' || restartPolicy !== 'Never')) {
      problems.push('/spec/backoffLimitPerIndex needs completionMode Indexed and restartPolicy Never');
    }
  }
  return problems;
}

/** Schema and server rules together: what `kubectl apply` would refuse. */
export async function problemsOf(object: Manifest['object']): Promise<string[]> {
  return [...(await schemaProblems(object)), ...serverRuleProblems(object)];
}

/** The value of env var NAME of CONTAINER, as written (a literal), or where it comes from. */
export const envOf = (container: IContainer, name: string) => container.env?.find((variable) => variable.name === name);
