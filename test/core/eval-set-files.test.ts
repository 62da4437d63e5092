import { createHash } from 'node:crypto';
import {
  EvalSetPathError,
  formatEvalSetFiles,
  parseEvalSetFiles,
  workspacePath,
  type EvalSetFile,
} from '../../lambdas/core/data/eval-set-files';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const file = (path: string, data = path): EvalSetFile => ({
  sha256: sha(data),
  bytes: data.length,
  versionId: 'v1',
  key: `m/files/md5/ab/${path.length}`,
  path,
});

describe('workspacePath: where `dvc pull` would put an output', () => {
  test.each([
    ['data/eval/golden.jsonl.dvc', undefined, 'golden.jsonl', undefined, 'data/eval/golden.jsonl'],
    ['golden.jsonl.dvc', undefined, 'golden.jsonl', undefined, 'golden.jsonl'],
    ['data/eval/set.dvc', undefined, 'set', 'parts/a.jsonl', 'data/eval/set/parts/a.jsonl'],
    ['data/eval/set.dvc', 'sub', 'x.jsonl', undefined, 'data/eval/sub/x.jsonl'],
    ['data/eval/set.dvc', undefined, '../shared/x.jsonl', undefined, 'data/shared/x.jsonl'],
    ['data\\eval\\set.dvc', undefined, 'x.jsonl', undefined, 'data/eval/x.jsonl'],
  ])('%s wdir=%s path=%s relpath=%s -> %s', (dvcFile, wdir, out, relpath, expected) => {
    expect(workspacePath(dvcFile, wdir, out, relpath)).toBe(expected);
  });

  test('a path that leaves the repository is refused, naming the file and the fix', () => {
    expect(() => workspacePath('data/x.dvc', undefined, '../../etc/passwd')).toThrow(
      new EvalSetPathError(
        'data/x.dvc: path "../../etc/passwd" resolves outside the repository (../etc/passwd); pin data that lives inside it',
      ),
    );
    expect(() => workspacePath('x.dvc', undefined, '/etc/passwd')).toThrow(/resolves outside the repository/);
  });

  test('a control character in a path is refused (it would break the list and the shell)', () => {
    expect(() => workspacePath('x.dvc', undefined, 'a\tb.jsonl')).toThrow(
      'x.dvc: path "a\tb.jsonl" is not a file path the build can write ("a\\tb.jsonl"); rename the data',
    );
  });
});

describe('the eval-set file list', () => {
  test('round-trips, with comments and a missing version id written as "-"', () => {
    const files = [file('a.jsonl'), { ...file('b.jsonl'), versionId: undefined }];
    const text = formatEvalSetFiles(files, ['header']);
    expect(text.split('\n')[0]).toBe('# header');
    expect(text).toContain(`\t-\t`);
    expect(parseEvalSetFiles(text)).toEqual(
      [file('a.jsonl'), { ...file('b.jsonl'), versionId: undefined }].map((f) =>
        f.versionId === undefined ? { sha256: f.sha256, bytes: f.bytes, key: f.key, path: f.path } : f,
      ),
    );
  });

  test('one path pinned twice with the same bytes is listed once; with different bytes it is refused', () => {
    expect(parseEvalSetFiles(formatEvalSetFiles([file('a.jsonl'), file('a.jsonl')]))).toHaveLength(1);
    expect(() => formatEvalSetFiles([file('a.jsonl'), file('a.jsonl', 'other')])).toThrow(
      /two pins put different data at a\.jsonl .*give each eval set and reference its own file/,
    );
  });

  test('a malformed line names its number', () => {
    expect(() => parseEvalSetFiles('# c\nnot a line\n')).toThrow(
      'eval-set file list, line 2: expected sha256, bytes, versionId, key, path',
    );
  });
});
