import { ConfigFixture, EXAMPLE_MODEL, lineOf, problemsOf, shippedConfig } from '../helpers/config-fixture';

/** Loads the fixture and returns the problem lines a user would see, with the temp dir stripped. */
describe('loadConfig', () => {
  let fixture: ConfigFixture;
  beforeEach(() => {
    fixture = new ConfigFixture();
  });
  afterEach(() => fixture.dispose());

  test('loads the shipped example with every section populated', () => {
    const config = shippedConfig();
    expect(config.platform.name).toBe('mlops');
    expect(config.platform.pricing.asOf).toBe('2026-11-01');
    expect(config.models.map((m) => m.name)).toEqual(['document-classifier']);
    const model = config.models[0];
    expect(model.evalSets.map((s) => [s.name, s.kind])).toEqual([
      ['golden_set', 'benchmark'],
      ['production_sample', 'production-like'],
    ]);
    expect(model.thresholds).toEqual({
      maxAccuracyDrop: 0.02,
      maxLatencyIncreasePct: 15,
      maxCostIncreasePct: 10,
      maxBiasGapIncrease: 0.03,
      onInconclusive: 'point-estimate',
      assumedDiscordance: 0.1,
    });
  });

  test('fills documented defaults for a minimal model, inheriting platform defaults first', () => {
    fixture
      .edit('platform.yaml', '    maxAccuracyDrop: 0.02', '    maxAccuracyDrop: 0.01')
      .write(
        EXAMPLE_MODEL,
        [
          'name: document-classifier',
          'description: Minimal model',
          'owner: { team: t, contact: t@example.com }',
          'repository: { owner: o, name: r }',
          'codeQuality: { commands: [make test] }',
          'evaluation: { command: make evaluate }',
          'evalSets:',
          '  - { name: golden_set, kind: benchmark, dvcFile: a.dvc, referenceDvcFile: b.dvc }',
          'thresholds: { maxCostIncreasePct: 5 }',
        ].join('\n'),
      );
    const model = fixture.load().models[0];
    // model value wins, then platform default, then built-in default
    expect(model.thresholds).toEqual({
      maxAccuracyDrop: 0.01,
      maxLatencyIncreasePct: 15,
      maxCostIncreasePct: 5,
      maxBiasGapIncrease: 0.03,
      onInconclusive: 'point-estimate',
      assumedDiscordance: 0.1,
    });
    expect(model.repository.branch).toBe('main');
    expect(model.repository.triggerPaths).toEqual(['ml/**', 'data/features/**', 'configs/model_*.yaml']);
    expect(model.evalSets[0].maxDrift).toBe(0.1);
    expect(model.dataValidation.requiredFields).toEqual(['text', 'label', 'source', 'timestamp']);
    expect(model.dataValidation.maxTextLength).toBe(10_000);
    expect(model.evaluation.timeoutMinutes).toBe(60);
    expect(model.serving.canary.sizePercent).toBe(10);
    expect(model.monitoring).toMatchObject({
      confidenceStdDevs: 3,
      confidenceAlarm: { periodSeconds: 120, breachingPeriods: 3, evaluationPeriods: 5 },
      periodSeconds: 60,
      breachingDatapoints: 5,
      latency: { p95Ms: 500, p99Ms: 1000 },
      drift: { schedule: 'rate(1 hour)', maxLabelDrift: 0.15 },
      productionSample: { size: 500, windowHours: 168, piiPatterns: [] },
    });
  });

  test('malformed YAML names the file and the line', () => {
    fixture.edit(EXAMPLE_MODEL, 'codeQuality:\n', 'codeQuality: [unclosed\n');
    const line = lineOf(fixture.read(EXAMPLE_MODEL), 'codeQuality: [unclosed');
    const problems = problemsOf(fixture);
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) expect(p).toMatch(/^models\/document-classifier\.yaml:\d+: invalid YAML: /);
    expect(Number(/:(\d+):/.exec(problems[0])?.[1])).toBeGreaterThanOrEqual(line);
  });

  test('a duplicate key in one YAML mapping is an error, not a silent override', () => {
    fixture.edit(EXAMPLE_MODEL, 'branch: main\n', 'branch: main\n  branch: release\n');
    expect(problemsOf(fixture)).toEqual([
      expect.stringMatching(/^models\/document-classifier\.yaml:\d+: invalid YAML: duplicate key "branch"/),
    ]);
  });

  test('an unknown key (typo) is reported with its line and a suggestion', () => {
    fixture.edit(EXAMPLE_MODEL, '  maxAccuracyDrop: 0.02', '  maxAcuracyDrop: 0.02');
    const line = lineOf(fixture.read(EXAMPLE_MODEL), '  maxAcuracyDrop: 0.02');
    expect(problemsOf(fixture)).toEqual([
      `models/document-classifier.yaml:${line} thresholds.maxAcuracyDrop: unknown key (did you mean "maxAccuracyDrop"?)`,
    ]);
  });

  test('an unknown key with no near match lists the allowed keys', () => {
    fixture.edit(EXAMPLE_MODEL, 'monitoring:\n', 'monitoring:\n  pagerDutyServiceId: P123\n');
    expect(problemsOf(fixture)).toEqual([
      expect.stringContaining(
        'monitoring.pagerDutyServiceId: unknown key (expected one of: confidenceStdDevs, confidenceAlarm, periodSeconds, breachingDatapoints, latency, invocationDropStdDevs, drift, cost, productionSample)',
      ),
    ]);
  });

  test('a confidence alarm needing more breaching periods than it looks at names both keys and the fix', () => {
    fixture.edit(
      EXAMPLE_MODEL,
      'monitoring:\n',
      'monitoring:\n  confidenceAlarm:\n    breachingPeriods: 6\n    evaluationPeriods: 5\n',
    );
    expect(problemsOf(fixture)).toEqual([
      expect.stringMatching(
        /^models\/document-classifier\.yaml:\d+ monitoring\.confidenceAlarm\.breachingPeriods: must not exceed monitoring\.confidenceAlarm\.evaluationPeriods \(5\): .*; raise evaluationPeriods or lower breachingPeriods \(got 6\)$/,
      ),
    ]);
  });

  test('a confidence alarm period that is not whole minutes is refused', () => {
    fixture.edit(EXAMPLE_MODEL, 'monitoring:\n', 'monitoring:\n  confidenceAlarm:\n    periodSeconds: 90\n');
    expect(problemsOf(fixture)).toEqual([
      expect.stringContaining('monitoring.confidenceAlarm.periodSeconds'),
    ]);
  });

  test('a string where a number belongs says what it got and what it expected', () => {
    fixture.edit(EXAMPLE_MODEL, 'monthlyRequests: 2500000', 'monthlyRequests: lots');
    expect(problemsOf(fixture)).toEqual([
      expect.stringMatching(
        /^models\/document-classifier\.yaml:\d+ cost\.monthlyRequests: wrong type \(got string "lots", expected a number\)$/,
      ),
    ]);
  });

  test('an out-of-range value names the bound', () => {
    fixture.edit(EXAMPLE_MODEL, '    sizePercent: 10', '    sizePercent: 70');
    expect(problemsOf(fixture)).toEqual([
      expect.stringMatching(/serving\.canary\.sizePercent: too large \(got 70, expected at most 50\)$/),
    ]);
  });

  test('a threshold above 1 is rejected', () => {
    fixture.edit(EXAMPLE_MODEL, '    maxDrift: 0.1\n', '    maxDrift: 1.5\n');
    expect(problemsOf(fixture)).toEqual([
      expect.stringMatching(/evalSets\[0\]\.maxDrift: too large \(got 1\.5, expected at most 1\)$/),
    ]);
  });

  test('a missing required key is named, without a misleading line', () => {
    fixture.edit(
      EXAMPLE_MODEL,
      'description: Routes incoming customer documents to the right support queue.\n',
      '',
    );
    expect(problemsOf(fixture)).toEqual([
      'models/document-classifier.yaml description: required key is missing (expected a string)',
    ]);
  });

  test('a missing nested key points at its parent', () => {
    fixture.edit(EXAMPLE_MODEL, '  contact: doc-intel@example.com\n', '');
    const line = lineOf(fixture.read(EXAMPLE_MODEL), 'owner:');
    expect(problemsOf(fixture)).toEqual([
      `models/document-classifier.yaml:${line} owner.contact: required key is missing (expected a string)`,
    ]);
  });

  test('a model name must match its file, and may be used only once', () => {
    const nameLine = lineOf(fixture.read(EXAMPLE_MODEL), 'name: document-classifier');
    fixture.write('models/document-classifier-v2.yaml', fixture.read(EXAMPLE_MODEL));
    expect(problemsOf(fixture)).toEqual([
      `models/document-classifier-v2.yaml:${nameLine} name: must match the file name (got "document-classifier", expected "document-classifier-v2"); rename the file or the model`,
      `models/document-classifier.yaml:${nameLine} name: duplicate model name (got "document-classifier", already used by models/document-classifier-v2.yaml)`,
    ]);
  });

  test('a dangling pricing reference names the missing entry and the known ones', () => {
    fixture.edit(
      EXAMPLE_MODEL,
      '  instanceType: ml.g5.xlarge\n  initialInstanceCount',
      '  instanceType: ml.p4d.24xlarge\n  initialInstanceCount',
    );
    expect(problemsOf(fixture)).toEqual([
      expect.stringMatching(
        /serving\.instanceType: no price for this instance type \(got "ml\.p4d\.24xlarge", expected one of platform\.yaml pricing\.sagemakerInstances: ml\.m5\.large, ml\.m5\.xlarge, ml\.g5\.xlarge, ml\.g5\.2xlarge\)/,
      ),
    ]);
  });

  test('a token-priced model must name a priced token model', () => {
    fixture.edit(
      EXAMPLE_MODEL,
      '    kind: sagemaker\n',
      '    kind: token\n    model: hosted-llm-large\n    avgInputTokens: 800\n    avgOutputTokens: 50\n',
    );
    expect(problemsOf(fixture)).toEqual([
      expect.stringContaining(
        'cost.pricing.model: no price for this token model (got "hosted-llm-large", expected one of platform.yaml pricing.tokenModels: hosted-llm-small)',
      ),
    ]);
  });

  test('cross-field: autoscaling bounds and duplicate eval sets', () => {
    fixture
      .edit(EXAMPLE_MODEL, '    minInstances: 2', '    minInstances: 8')
      .edit(EXAMPLE_MODEL, '  - name: production_sample', '  - name: golden_set');
    const problems = problemsOf(fixture);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/evalSets\[1\]\.name: duplicate eval set name/),
        expect.stringMatching(
          /serving\.autoscaling\.minInstances: must not exceed serving\.autoscaling\.maxInstances \(6\) \(got 8\)/,
        ),
        expect.stringMatching(
          /serving\.initialInstanceCount: must lie within the autoscaling limits 8\.\.6 \(got 2\)/,
        ),
      ]),
    );
  });

  test('more than 8 trigger globs is refused with the CodePipeline limit as the reason', () => {
    const globs = Array.from({ length: 9 }, (_, i) => `    - path${i}/**`).join('\n');
    fixture.edit(
      EXAMPLE_MODEL,
      '    - ml/**\n    - data/features/**\n    - configs/model_*.yaml\n    - data/eval/*.dvc',
      globs,
    );
    expect(problemsOf(fixture)).toEqual([
      expect.stringContaining(
        'repository.triggerPaths: CodePipeline V2 allows at most 8 file-path globs per trigger filter: too many items (got 9 items, expected at most 8 items)',
      ),
    ]);
  });

  test('reports every problem of every file at once, in file and line order', () => {
    fixture
      .edit('platform.yaml', "account: '123456789012'", 'account: 12345')
      .edit('platform.yaml', 'region: eu-west-1', 'region: europe')
      .edit(EXAMPLE_MODEL, '  maxAccuracyDrop: 0.02', '  maxAcuracyDrop: 0.02')
      .edit(EXAMPLE_MODEL, 'monthlyRequests: 2500000', 'monthlyRequests: lots')
      .write('models/broken.yaml', 'name: broken\nrepository: [unclosed\n');
    const problems = problemsOf(fixture);
    expect(problems).toEqual([
      expect.stringMatching(
        /^platform\.yaml:\d+ environment\.account: wrong type \(got number 12345, expected a string\); quote it: account: '12345'$/,
      ),
      expect.stringMatching(
        /^platform\.yaml:\d+ environment\.region: invalid format \(got "europe", expected an AWS region like eu-west-1\)$/,
      ),
      expect.stringMatching(/^models\/broken\.yaml:\d+: invalid YAML/),
      expect.stringMatching(/^models\/document-classifier\.yaml:\d+ thresholds\.maxAcuracyDrop: unknown key/),
      expect.stringMatching(/^models\/document-classifier\.yaml:\d+ cost\.monthlyRequests: wrong type/),
    ]);
  });

  test('an invalid platform default is reported once, at platform.yaml, not in every model', () => {
    fixture.edit('platform.yaml', '    maxLatencyIncreasePct: 15', '    maxLatencyIncreasePct: -5');
    fixture.write(
      'models/second-model.yaml',
      fixture.read(EXAMPLE_MODEL).replace('name: document-classifier', 'name: second-model'),
    );
    expect(problemsOf(fixture)).toEqual([
      expect.stringMatching(
        /^platform\.yaml:\d+ defaults\.thresholds\.maxLatencyIncreasePct: too small \(got -5, expected at least 0\)$/,
      ),
    ]);
  });

  test('the A/B analysis policy defaults to the values the analysis used before it was config', () => {
    expect(fixture.load().models[0].routing.analysis).toEqual({
      schedule: 'cron(30 2 * * ? *)',
      minSamples: 100,
      maxScannedGb: 10,
      effectOfInterest: { errorRate: 0.01, meanConfidence: 0.02 },
      minEffectiveBuckets: 30,
      alpha: 0.05,
    });
  });

  test('an A/B analysis policy out of range names the file, the key, the value and the fix', () => {
    fixture.edit(
      EXAMPLE_MODEL,
      'monitoring:\n',
      'routing:\n  analysis:\n    minEffectiveBuckets: 10\n    effectOfInterest: { errorRate: 1 }\nmonitoring:\n',
    );
    const text = fixture.read(EXAMPLE_MODEL);
    expect(problemsOf(fixture)).toEqual([
      `${EXAMPLE_MODEL}:${lineOf(text, 'minEffectiveBuckets: 10')} routing.analysis.minEffectiveBuckets: below 30 effective user buckets the intervals' normal approximation fails and a few users decide the result; raise it, do not lower it: too small (got 10, expected at least 30)`,
      `${EXAMPLE_MODEL}:${lineOf(text, 'effectOfInterest:')} routing.analysis.effectOfInterest.errorRate: write it as a fraction (0.01 is 1 point): too large (got 1, expected at most 0.5)`,
    ]);
  });

  test('missing files are named with the fix', () => {
    fixture.dispose();
    const empty = new ConfigFixture();
    empty.write('platform.yaml', '');
    expect(problemsOf(empty)).toEqual(['platform.yaml: file is empty (expected a mapping of settings)']);
    empty.dispose();
  });
});
