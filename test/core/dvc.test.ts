import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  DvcFileError,
  DvcHashMismatchError,
  DvcPinMissingError,
  dvcFileFor,
  dvcOutRemoteKey,
  dvcRemoteKey,
  parseDvcDirManifest,
  parseDvcFile,
  resolveDvcPin,
  verifyDvcOut,
  verifyMd5,
} from '../../lambdas/core/data/dvc';

const FIXTURES = join(__dirname, '..', 'fixtures', 'dvc');
const read = (name: string): Buffer => readFileSync(join(FIXTURES, name));
const md5 = (data: Uint8Array): string => createHash('md5').update(data).digest('hex');

/** Yields `data` in pieces of `size` bytes, as a network stream would. */
async function* chunked(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.byteLength; i += size) yield data.subarray(i, i + size);
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of stream) parts.push(chunk);
  return Buffer.concat(parts);
}

/** Runs `fn` and returns what it threw, failing the test if it did not throw. */
async function thrown(fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error, none was thrown');
}

describe('parseDvcFile', () => {
  test('a DVC 3 file pin: plain md5, files/md5 layout, size', () => {
    const pin = parseDvcFile(read('golden_set.jsonl.dvc').toString(), 'data/eval/golden_set.jsonl.dvc');
    expect(pin).toEqual({
      file: 'data/eval/golden_set.jsonl.dvc',
      outs: [
        {
          path: 'golden_set.jsonl',
          md5: 'c323d49f30c01294e1b63b22640f5dd5',
          isDirectory: false,
          size: 313,
          hashMode: 'md5',
          remoteLayout: 'v3',
          cached: true,
        },
      ],
    });
  });

  test('a DVC 3 directory pin: .dir md5 and nfiles', () => {
    const [out] = parseDvcFile(read('images.dvc').toString(), 'data/images.dvc').outs;
    expect(out).toMatchObject({
      path: 'images',
      md5: '16ab47780e1df6e8d7ae6a860752661b.dir',
      isDirectory: true,
      size: 42,
      nfiles: 2,
      hashMode: 'md5',
      remoteLayout: 'v3',
    });
  });

  test('a DVC 2 pin without a hash key is md5-dos2unix in the legacy layout', () => {
    const [out] = parseDvcFile(read('reviews.csv.dvc').toString(), 'data/reviews.csv.dvc').outs;
    expect(out).toMatchObject({
      md5: '3166ba98deb5a7c92b43901c58b59925',
      hashMode: 'md5-dos2unix',
      remoteLayout: 'legacy',
    });
  });

  test('several outputs, wdir, cache: false, a named remote and an upper-case md5 are all kept', () => {
    const text = [
      'wdir: ../data',
      'outs:',
      '- md5: C323D49F30C01294E1B63B22640F5DD5',
      '  hash: md5',
      '  path: a.jsonl',
      '  remote: eval-store',
      '- md5: "12345678901234567890123456789012"',
      '  path: b.jsonl',
      '  cache: false',
    ].join('\n');
    const pin = parseDvcFile(text, 'multi.dvc');
    expect(pin.wdir).toBe('../data');
    expect(pin.outs.map((o) => [o.path, o.md5, o.cached, o.remote])).toEqual([
      ['a.jsonl', 'c323d49f30c01294e1b63b22640f5dd5', true, 'eval-store'],
      ['b.jsonl', '12345678901234567890123456789012', false, undefined],
    ]);
  });

  test('an all-digit md5 left unquoted stays exact instead of becoming a rounded number', () => {
    const pin = parseDvcFile('outs:\n- md5: 12345678901234567890123456789012\n  path: x\n', 'x.dvc');
    expect(pin.outs[0].md5).toBe('12345678901234567890123456789012');
  });

  test.each([
    ['not YAML', 'outs: [\n', '(file)', /is not valid YAML/],
    ['empty file', '', '(file)', /expected a mapping with an `outs` list, got nothing/],
    ['a list at the top', '- md5: x\n', '(file)', /got a list/],
    ['no outs', 'meta:\n  a: b\n', 'outs', /is missing: a .dvc file lists its tracked data under `outs`/],
    ['empty outs', 'outs: []\n', 'outs', /expected a non-empty list of outputs, got a list/],
    ['outs is a string', 'outs: data.csv\n', 'outs', /got "data.csv"/],
    ['an out that is a string', 'outs:\n- data.csv\n', 'outs[0]', /expected a mapping with md5 and path/],
    ['no md5', 'outs:\n- path: data.csv\n', 'outs[0].md5', /is missing: .*`dvc commit`/],
    [
      'etag instead of md5',
      'outs:\n- etag: abc\n  path: s3://b/k\n',
      'outs[0].md5',
      /hashed by etag \(external data\)/,
    ],
    [
      'short md5',
      'outs:\n- md5: abc123\n  path: d\n',
      'outs[0].md5',
      /32 hexadecimal characters.*got "abc123"/,
    ],
    ['non-hex md5', `outs:\n- md5: ${'g'.repeat(32)}\n  path: d\n`, 'outs[0].md5', /got "g{32}"/],
    [
      'md5 with another suffix',
      `outs:\n- md5: ${'a'.repeat(32)}.zip\n  path: d\n`,
      'outs[0].md5',
      /optionally followed by ".dir"/,
    ],
    ['md5 that is a list', 'outs:\n- md5: [1]\n  path: d\n', 'outs[0].md5', /got a list/],
    ['no path', `outs:\n- md5: ${'a'.repeat(32)}\n`, 'outs[0].path', /is missing/],
    [
      'unknown hash',
      `outs:\n- md5: ${'a'.repeat(32)}\n  hash: sha256\n  path: d\n`,
      'outs[0].hash',
      /got "sha256"/,
    ],
    [
      'bad size',
      `outs:\n- md5: ${'a'.repeat(32)}\n  size: -3\n  path: d\n`,
      'outs[0].size',
      /whole number >= 0, got "-3"/,
    ],
    [
      'nfiles on a file',
      `outs:\n- md5: ${'a'.repeat(32)}\n  nfiles: 2\n  path: d\n`,
      'outs[0].nfiles',
      /not a directory's/,
    ],
    [
      'bad cache flag',
      `outs:\n- md5: ${'a'.repeat(32)}\n  cache: maybe\n  path: d\n`,
      'outs[0].cache',
      /true or false/,
    ],
    [
      'the same path twice',
      `outs:\n- md5: ${'a'.repeat(32)}\n  path: d\n- md5: ${'b'.repeat(32)}\n  path: d\n`,
      'outs[1].path',
      /listed twice/,
    ],
    [
      'duplicate keys',
      `outs:\n- md5: ${'a'.repeat(32)}\n  md5: ${'b'.repeat(32)}\n  path: d\n`,
      '(file)',
      /not valid YAML/,
    ],
  ])('%s: the error names the file and the key', (_case, text, key, message) => {
    let error: unknown;
    try {
      parseDvcFile(text, 'data/eval/x.dvc');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DvcFileError);
    const { file, key: errorKey, message: text2 } = error as DvcFileError;
    expect([file, errorKey]).toEqual(['data/eval/x.dvc', key]);
    expect(text2.startsWith(`data/eval/x.dvc: ${key}: `)).toBe(true);
    expect(text2).toMatch(message);
  });
});

describe('resolveDvcPin and dvcFileFor', () => {
  test('the conventional .dvc file sits beside the data', () => {
    expect(dvcFileFor('data/eval/golden_set.jsonl')).toBe('data/eval/golden_set.jsonl.dvc');
    expect(dvcFileFor('data/images/')).toBe('data/images.dvc');
  });

  test('a missing .dvc file is a DvcPinMissingError that says how to create the pin', () => {
    const error = (() => {
      try {
        return resolveDvcPin('golden_set', 'data/eval/golden_set.jsonl.dvc', undefined);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DvcPinMissingError);
    expect((error as DvcPinMissingError).message).toBe(
      'golden_set: no DVC pin found at data/eval/golden_set.jsonl.dvc; eval sets must be tracked with DVC so that ' +
        'every run reads the same bytes: run `dvc add data/eval/golden_set.jsonl`, commit ' +
        'data/eval/golden_set.jsonl.dvc and `dvc push` the data',
    );
    expect(() => resolveDvcPin('golden_set', 'x.dvc', null)).toThrow(DvcPinMissingError);
  });

  test('an existing file is parsed under its own name', () => {
    const pin = resolveDvcPin(
      'golden_set',
      'data/eval/golden_set.jsonl.dvc',
      read('golden_set.jsonl.dvc').toString(),
    );
    expect(pin.file).toBe('data/eval/golden_set.jsonl.dvc');
    expect(() => resolveDvcPin('golden_set', 'g.dvc', 'outs: []')).toThrow(/^g.dvc: outs: /);
  });
});

describe('dvcRemoteKey', () => {
  const hex = 'ab0123456789abcdef0123456789abcd';

  test('DVC 3 layout: files/md5/<2 chars>/<30 chars>, keeping .dir', () => {
    expect(dvcRemoteKey(hex, { layout: 'v3' })).toBe('files/md5/ab/0123456789abcdef0123456789abcd');
    expect(dvcRemoteKey(`${hex}.dir`, { layout: 'v3' })).toBe(
      'files/md5/ab/0123456789abcdef0123456789abcd.dir',
    );
  });

  test('legacy DVC 2 layout: <2 chars>/<30 chars> at the remote root', () => {
    expect(dvcRemoteKey(hex, { layout: 'legacy' })).toBe('ab/0123456789abcdef0123456789abcd');
  });

  test('a prefix is joined with exactly one slash and the md5 is lower-cased', () => {
    expect(dvcRemoteKey(hex.toUpperCase(), { layout: 'v3', prefix: '/dvc-store/' })).toBe(
      'dvc-store/files/md5/ab/0123456789abcdef0123456789abcd',
    );
    expect(dvcRemoteKey(hex, { layout: 'legacy', prefix: '' })).toBe('ab/0123456789abcdef0123456789abcd');
  });

  test("an output's key follows the layout of its .dvc file", () => {
    const [v3] = parseDvcFile(read('images.dvc').toString(), 'images.dvc').outs;
    const [legacy] = parseDvcFile(read('reviews.csv.dvc').toString(), 'reviews.csv.dvc').outs;
    expect(dvcOutRemoteKey(v3, 'cache')).toBe('cache/files/md5/16/ab47780e1df6e8d7ae6a860752661b.dir');
    expect(dvcOutRemoteKey(legacy)).toBe('31/66ba98deb5a7c92b43901c58b59925');
  });

  test('a malformed md5 or layout is refused', () => {
    expect(() => dvcRemoteKey('abc', { layout: 'v3' })).toThrow(/got "abc"/);
    expect(() => dvcRemoteKey(hex, { layout: 'v2' as never })).toThrow(
      /layout must be "v3" or "legacy", got "v2"/,
    );
  });

  test('property: the key ends with the md5 split after two characters', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9a-f]{32}(\.dir)?$/),
        fc.constantFrom('v3', 'legacy' as const),
        (m, layout) => {
          const key = dvcRemoteKey(m, { layout });
          expect(key.endsWith(`${m.slice(0, 2)}/${m.slice(2)}`)).toBe(true);
          expect(key.split('/')).toHaveLength(layout === 'v3' ? 4 : 2);
        },
      ),
    );
  });
});

describe('parseDvcDirManifest', () => {
  test('reads the manifest DVC wrote for a directory, which hashes to the pin', () => {
    const manifest = read('images.dir.json');
    const entries = parseDvcDirManifest(manifest.toString(), 'images.dir');
    expect(entries).toEqual([
      { md5: '1671abf6d56e997accd3da00ce72f66a', relpath: 'cat.png' },
      { md5: 'cb57dbc28f740fc1ce1752f1a9a5459d', relpath: 'dog.png' },
    ]);
    const [out] = parseDvcFile(read('images.dvc').toString(), 'images.dvc').outs;
    expect(`${md5(manifest)}.dir`).toBe(out.md5);
    expect(entries).toHaveLength(out.nfiles!);
    for (const entry of entries) expect(md5(read(join('images', entry.relpath)))).toBe(entry.md5);
  });

  test.each([
    ['not JSON', '[{', '(file)', /not valid JSON/],
    ['an object', '{"md5": "x"}', '(file)', /expected a JSON list/],
    ['an entry that is a string', '["a"]', '[0]', /expected an object/],
    ['a bad md5', '[{"md5": "abc", "relpath": "a"}]', '[0].md5', /got "abc"/],
    ['a .dir md5 inside', `[{"md5": "${'a'.repeat(32)}.dir", "relpath": "a"}]`, '[0].md5', /32 hexadecimal/],
    ['no relpath', `[{"md5": "${'a'.repeat(32)}"}]`, '[0].relpath', /got nothing/],
    [
      'an absolute relpath',
      `[{"md5": "${'a'.repeat(32)}", "relpath": "/etc/passwd"}]`,
      '[0].relpath',
      /outside/,
    ],
    ['a relpath with ..', `[{"md5": "${'a'.repeat(32)}", "relpath": "a/../../b"}]`, '[0].relpath', /outside/],
    [
      'a duplicate relpath',
      `[{"md5": "${'a'.repeat(32)}", "relpath": "a"}, {"md5": "${'b'.repeat(32)}", "relpath": "a"}]`,
      '[1].relpath',
      /listed twice/,
    ],
  ])('%s is refused, naming the entry', (_case, json, key, message) => {
    expect(() => parseDvcDirManifest(json, 'images.dir')).toThrow(DvcFileError);
    expect(() => parseDvcDirManifest(json, 'images.dir')).toThrow(
      new RegExp(`^images\\.dir: ${key.replace(/[[\].()]/g, '\\$&')}: `),
    );
    expect(() => parseDvcDirManifest(json, 'images.dir')).toThrow(message);
  });
});

describe('verifyMd5', () => {
  const golden = read('golden_set.jsonl');
  const goldenPin = 'c323d49f30c01294e1b63b22640f5dd5';

  test.each([1, 7, 64, 100_000])(
    'passes matching content through unchanged in %i-byte chunks',
    async (size) => {
      const out = await collect(verifyMd5(chunked(golden, size), goldenPin, 'golden_set'));
      expect(out.equals(golden)).toBe(true);
    },
  );

  test('a changed byte fails at the end with both hashes, the dataset and the pin file', async () => {
    const tampered = Buffer.from(golden);
    tampered[20] ^= 1;
    const seen: Uint8Array[] = [];
    const error = await thrown(async () => {
      for await (const chunk of verifyMd5(chunked(tampered, 50), goldenPin, 'golden_set', {
        dvcFile: 'data/eval/golden_set.jsonl.dvc',
        expectedSize: 313,
      })) {
        seen.push(chunk);
      }
    });
    expect(Buffer.concat(seen).equals(tampered)).toBe(true); // every chunk came through first
    expect(error).toBeInstanceOf(DvcHashMismatchError);
    expect(error.message).toBe(
      `golden_set: content md5 ${md5(tampered)} does not match the pin ${goldenPin} in ` +
        'data/eval/golden_set.jsonl.dvc: the object in the DVC remote was changed or corrupted; ' +
        're-push it with `dvc push` or fix the pin',
    );
    expect(error).toMatchObject({
      datasetName: 'golden_set',
      expectedMd5: goldenPin,
      actualMd5: md5(tampered),
    });
  });

  test('a truncated object also reports the size difference', async () => {
    const error = await thrown(() =>
      collect(
        verifyMd5(chunked(golden.subarray(0, 300), 64), goldenPin, 'golden_set', { expectedSize: 313 }),
      ),
    );
    expect(error.message).toMatch(/\(read 300 bytes; the pin records 313\)/);
  });

  test('an empty stream is checked too', async () => {
    await expect(
      collect(verifyMd5(chunked(Buffer.alloc(0), 8), 'd41d8cd98f00b204e9800998ecf8427e', 'empty')),
    ).resolves.toHaveLength(0);
    await expect(collect(verifyMd5(chunked(Buffer.alloc(0), 8), goldenPin, 'empty'))).rejects.toThrow(
      DvcHashMismatchError,
    );
  });

  test('a malformed pin fails at the call, before anything is read', () => {
    expect(() => verifyMd5(chunked(golden, 8), 'not-an-md5', 'golden_set')).toThrow(
      /golden_set.*got "not-an-md5"/,
    );
  });

  test('a directory pin verifies its manifest object (the .dir suffix is not hashed)', async () => {
    const [out] = parseDvcFile(read('images.dvc').toString(), 'images.dvc').outs;
    const manifest = read('images.dir.json');
    const passed = await collect(verifyDvcOut(chunked(manifest, 16), out, 'images', 'images.dvc'));
    expect(passed.equals(manifest)).toBe(true);
  });

  describe('DVC 2 pins (md5-dos2unix)', () => {
    const reviews = read('reviews.csv');
    const [legacyOut] = parseDvcFile(read('reviews.csv.dvc').toString(), 'reviews.csv.dvc').outs;

    test('the fixture still has CRLF line endings (an editor or git must not normalise it)', () => {
      expect(reviews.includes('\r\n')).toBe(true);
      expect(md5(reviews)).not.toBe(legacyOut.md5);
    });

    test.each([1, 5, 4096])('a CRLF text file matches its DVC 2 pin in %i-byte chunks', async (size) => {
      const passed = await collect(
        verifyDvcOut(chunked(reviews, size), legacyOut, 'reviews', 'reviews.csv.dvc'),
      );
      expect(passed.equals(reviews)).toBe(true); // the bytes themselves are not rewritten
    });

    test('the same pin checked as plain md5 fails, so the mode matters', async () => {
      await expect(collect(verifyMd5(chunked(reviews, 64), legacyOut.md5, 'reviews'))).rejects.toThrow(
        DvcHashMismatchError,
      );
    });

    test('binary files (a NUL in the first 512 bytes) are hashed as they are', async () => {
      const binary = Buffer.concat([Buffer.from([0, 1, 2]), Buffer.from('a\r\nb\r\n')]);
      await expect(
        collect(verifyMd5(chunked(binary, 3), md5(binary), 'blob', { hashMode: 'md5-dos2unix' })),
      ).resolves.toHaveLength(binary.length);
    });

    test('mostly non-ASCII content counts as binary, as in DVC (more than 30% outside printable ASCII)', async () => {
      const latin = Buffer.from('\u00e9\u00e9\u00e9a\r\n'.repeat(20), 'latin1');
      await expect(
        collect(verifyMd5(chunked(latin, 9), md5(latin), 'x', { hashMode: 'md5-dos2unix' })),
      ).resolves.toBeDefined();
    });

    test('CRLF is normalised per 1 MiB block, so a CRLF split across blocks is kept, as DVC does', async () => {
      const block = 2 ** 20;
      const data = Buffer.alloc(block + 10, 'x');
      data.write('\r\n', 100);
      data.write('\r\n', block - 1); // CR is the last byte of block 1, LF the first of block 2
      data.write('\r\n', block + 5);
      const dos2unix = (b: Buffer) => Buffer.from(b.toString('latin1').replaceAll('\r\n', '\n'), 'latin1');
      const expected = md5(
        Buffer.concat([dos2unix(data.subarray(0, block)), dos2unix(data.subarray(block))]),
      );
      expect(expected).not.toBe(md5(dos2unix(data)));
      for (const size of [65_536, 333_333]) {
        await expect(
          collect(verifyMd5(chunked(data, size), expected, 'big', { hashMode: 'md5-dos2unix' })),
        ).resolves.toHaveLength(data.length);
      }
    });
  });

  test('text chunks (a stream with an encoding set) are refused instead of being hashed as something else', async () => {
    async function* text() {
      yield 'abc' as unknown as Uint8Array;
    }
    await expect(collect(verifyMd5(text(), goldenPin, 'golden_set'))).rejects.toThrow(
      /expected byte chunks, got string; do not set an encoding/,
    );
  });

  test('an unknown hash mode is refused', () => {
    expect(() => verifyMd5(chunked(golden, 8), goldenPin, 'g', { hashMode: 'sha1' as never })).toThrow(
      /hashMode must be "md5" or "md5-dos2unix", got "sha1"/,
    );
  });
});
