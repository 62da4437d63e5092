/**
 * The eval-set file list: every file of every pinned eval set (and its reference), as the
 * data-validation gate read and verified it, for the evaluation build to fetch byte for byte.
 *
 * Why it exists: the evaluation build used to `pip install "dvc[s3]"` (unpinned, unhashed) and run
 * `dvc pull` in the role that stages the model archive. The gate already reads every pinned object
 * from the DVC remote and checks it against its md5, so it writes down what it read (object key,
 * S3 version id, SHA-256, size, workspace path) and the build fetches exactly those object versions
 * with the AWS CLI and checks each SHA-256 with `sha256sum`: no package from PyPI runs in the build,
 * and no object swapped in the remote after the gate (a new version of a key) reaches the evaluation.
 *
 * Format: UTF-8 text, one file per line, five tab-separated fields:
 * `sha256 <TAB> bytes <TAB> versionId or "-" <TAB> object key <TAB> workspace path`, after `#` comment
 * lines. Tabs and newlines cannot occur in the fields: keys are DVC's content addresses and paths with
 * control characters are refused.
 */
import { posix } from 'node:path';

/** One file the evaluation build fetches. */
export interface EvalSetFile {
  /** Lower-case hex SHA-256 of the object's bytes, computed while the gate verified its md5. */
  readonly sha256: string;
  readonly bytes: number;
  /** The object version the gate read; absent when the bucket answered without one. */
  readonly versionId?: string;
  /** The object's key in the DVC remote bucket. */
  readonly key: string;
  /** Where the file goes, relative to the repository's root (as `dvc pull` would place it). */
  readonly path: string;
}

/** A pinned path that would land outside the repository, or cannot be written safely. */
export class EvalSetPathError extends Error {
  override readonly name = 'EvalSetPathError';
}

const SHA256 = /^[0-9a-f]{64}$/;
// Control characters (tab and newline among them) would break the line format and the build's shell.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Where an output of `dvcFile` lives in the workspace: its `path` is relative to the `.dvc` file's
 * folder and `wdir` (https://dvc.org/doc/user-guide/project-structure/dvc-files), and a directory's
 * files are under it by their manifest `relpath`. Refuses anything that resolves outside the
 * repository, since the build writes there.
 */
export function workspacePath(
  dvcFile: string,
  wdir: string | undefined,
  outPath: string,
  relpath?: string,
): string {
  const parts = [posix.dirname(dvcFile.replace(/\\/g, '/')), wdir ?? '', outPath.replace(/\\/g, '/')];
  if (relpath !== undefined) parts.push(relpath);
  const raw = parts.join('/');
  const path = posix.normalize(raw).replace(/^\.\//, '');
  const named = relpath === undefined ? `path "${outPath}"` : `path "${outPath}/${relpath}"`;
  if (posix.isAbsolute(outPath) || /^[A-Za-z]:/.test(outPath) || path === '..' || path.startsWith('../')) {
    throw new EvalSetPathError(
      `${dvcFile}: ${named} resolves outside the repository (${path}); pin data that lives inside it`,
    );
  }
  if (path === '.' || path === '' || CONTROL.test(path)) {
    throw new EvalSetPathError(
      `${dvcFile}: ${named} is not a file path the build can write (${JSON.stringify(path)}); rename the data`,
    );
  }
  return path;
}

/** The file list as the build reads it; duplicates of one path must agree, and are listed once. */
export function formatEvalSetFiles(files: readonly EvalSetFile[], header: readonly string[] = []): string {
  const byPath = new Map<string, EvalSetFile>();
  for (const file of files) {
    if (!SHA256.test(file.sha256))
      throw new RangeError(`eval-set file ${file.path}: bad sha256 ${file.sha256}`);
    for (const [field, value] of [
      ['key', file.key],
      ['path', file.path],
      ['versionId', file.versionId ?? ''],
    ] as const) {
      if (CONTROL.test(value))
        throw new RangeError(`eval-set file ${file.path}: control character in ${field}`);
    }
    const seen = byPath.get(file.path);
    if (seen !== undefined && seen.sha256 !== file.sha256) {
      throw new EvalSetPathError(
        `two pins put different data at ${file.path} (sha256 ${seen.sha256.slice(0, 12)}… and ${file.sha256.slice(0, 12)}…); ` +
          'give each eval set and reference its own file',
      );
    }
    if (seen === undefined) byPath.set(file.path, file);
  }
  const lines = [...byPath.values()].map((f) =>
    [f.sha256, String(f.bytes), f.versionId ?? '-', f.key, f.path].join('\t'),
  );
  return [...header.map((h) => `# ${h}`), ...lines].join('\n') + '\n';
}

/** Reads a file list back (tests, tools); the build reads it with `read` in bash. */
export function parseEvalSetFiles(text: string): EvalSetFile[] {
  return text
    .split('\n')
    .map((line, i) => ({ line, number: i + 1 }))
    .filter(({ line }) => line !== '' && !line.startsWith('#'))
    .map(({ line, number }) => {
      const fields = line.split('\t');
      const [sha256, bytes, versionId, key, path] = fields;
      if (fields.length !== 5 || !SHA256.test(sha256) || !/^\d+$/.test(bytes)) {
        throw new RangeError(
          `eval-set file list, line ${number}: expected sha256, bytes, versionId, key, path`,
        );
      }
      return { sha256, bytes: Number(bytes), ...(versionId === '-' ? {} : { versionId }), key, path };
    });
}
