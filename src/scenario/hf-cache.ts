/**
 * `hf:ORG/NAME` tokenizers: a tokenizer.json already in the local Hugging Face
 * cache, never downloaded. The cache is laid out as huggingface_hub writes it:
 * HUB/models--ORG--NAME/refs/main holds the commit of the snapshot in
 * HUB/models--ORG--NAME/snapshots/COMMIT/.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The hub cache folder: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
export function hfHubCache(env: NodeJS.ProcessEnv): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return path.join(env.HF_HOME, 'hub');
  return path.join(env.HOME || os.homedir(), '.cache', 'huggingface', 'hub');
}

/** The path of ORG/NAME's cached tokenizer.json, or a problem that says where it looked and how to get it. */
export function resolveHfTokenizer(repo: string, env: NodeJS.ProcessEnv): { file: string } | { problem: string } {
  const modelDir = path.join(hfHubCache(env), `models--${repo.replace('/', '--')}`);
  const snapshots = path.join(modelDir, 'snapshots');
  const notFound = (where: string) => ({
    problem:
      `hf:${repo}: no tokenizer.json in the Hugging Face cache (looked in ${where}); tokenmeter never downloads: ` +
      `get it with \`huggingface-cli download ${repo} tokenizer.json tokenizer_config.json\` (or set HF_HUB_CACHE or HF_HOME)`,
  });
  const commit = readRefsMain(modelDir);
  if (commit !== undefined) {
    const file = path.join(snapshots, commit, 'tokenizer.json');
    return existsSync(file) ? { file } : notFound(file);
  }
  // No refs/main (a cache copied by hand, or another revision): the only snapshot, else the newest with a tokenizer.json.
  let candidates: { file: string; mtimeMs: number }[] = [];
  try {
    candidates = readdirSync(snapshots)
      .map((name) => path.join(snapshots, name, 'tokenizer.json'))
      .filter((file) => existsSync(file))
      .map((file) => ({ file, mtimeMs: statSync(file).mtimeMs }));
  } catch {
    return notFound(modelDir);
  }
  if (candidates.length === 0) return notFound(snapshots);
  candidates.sort((a, b) => b.mtimeMs - a.mtimeMs);
  return { file: candidates[0]!.file };
}

function readRefsMain(modelDir: string): string | undefined {
  try {
    return readFileSync(path.join(modelDir, 'refs', 'main'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
