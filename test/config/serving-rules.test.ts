import { ConfigFixture, EXAMPLE_MODEL, lineOf, problemsOf } from '../helpers/config-fixture';

/** Loads the fixture and returns the problem lines a user would see, with the temp dir stripped. */
const servingOf = (fixture: ConfigFixture) => fixture.load().models[0].serving;

/** A model file with only the required keys, plus `extra` lines; defaults come from the schema. */
const minimalModel = (...extra: string[]) =>
  [
    'name: document-classifier',
    'description: Minimal model',
    'owner: { team: t, contact: t@example.com }',
    'repository: { owner: o, name: r }',
    'codeQuality: { commands: [make test] }',
    'evalSets:',
    '  - { name: golden_set, kind: benchmark, dvcFile: a.dvc, referenceDvcFile: b.dvc }',
    ...extra,
  ].join('\n');

const EVALUATE = 'evaluation: { command: make evaluate }';

describe('serving and release rules of a model file', () => {
  let fixture: ConfigFixture;
  beforeEach(() => {
    fixture = new ConfigFixture();
  });
  afterEach(() => fixture.dispose());

  describe('serving.initialInstanceCount', () => {
    test('1 is refused: a canary release needs a second instance', () => {
      fixture
        .edit(EXAMPLE_MODEL, '  initialInstanceCount: 2', '  initialInstanceCount: 1')
        .edit(EXAMPLE_MODEL, '    minInstances: 2', '    minInstances: 1');
      const line = lineOf(fixture.read(EXAMPLE_MODEL), '  initialInstanceCount: 1');
      expect(problemsOf(fixture)).toEqual([
        `models/document-classifier.yaml:${line} serving.initialInstanceCount: a canary release needs at least 2 instances: ` +
          'its canary is one whole instance, and SageMaker allows at most 50% of the fleet ' +
          '(set 2 or more, and autoscaling.maxInstances to match) (got 1)',
      ]);
    });

    test('2 (the shipped example) loads', () => {
      expect(servingOf(fixture).initialInstanceCount).toBe(2);
    });

    test('a fleet of 1 inherited from platform defaults is refused at the model that inherits it', () => {
      fixture
        .edit(
          'platform.yaml',
          'defaults:\n',
          'defaults:\n  serving:\n    initialInstanceCount: 1\n    autoscaling: { minInstances: 1, maxInstances: 4, targetInvocationsPerInstance: 100 }\n',
        )
        .write(EXAMPLE_MODEL, minimalModel(EVALUATE));
      expect(problemsOf(fixture)).toEqual([
        expect.stringMatching(
          /^models\/document-classifier\.yaml(:\d+)? serving\.initialInstanceCount: a canary release needs at least 2 instances: .* \(got 1\)$/,
        ),
      ]);
    });
  });

  describe('serving.canary.maxExecutionTimeoutMinutes', () => {
    test('at most twice waitMinutes is refused: the canary wait and the final bake both count', () => {
      fixture
        .edit(EXAMPLE_MODEL, '    waitMinutes: 10', '    waitMinutes: 30')
        .edit(EXAMPLE_MODEL, '    maxExecutionTimeoutMinutes: 120', '    maxExecutionTimeoutMinutes: 60');
      const line = lineOf(fixture.read(EXAMPLE_MODEL), 'maxExecutionTimeoutMinutes: 60');
      expect(problemsOf(fixture)).toEqual([
        `models/document-classifier.yaml:${line} serving.canary.maxExecutionTimeoutMinutes: must be at least 10 and more than ` +
          'twice serving.canary.waitMinutes (30): SageMaker counts the canary wait and the final bake of the old fleet ' +
          'against this timeout (got 60)',
      ]);
    });

    test('one minute more than twice the wait loads', () => {
      fixture
        .edit(EXAMPLE_MODEL, '    waitMinutes: 10', '    waitMinutes: 30')
        .edit(EXAMPLE_MODEL, '    maxExecutionTimeoutMinutes: 120', '    maxExecutionTimeoutMinutes: 61');
      expect(servingOf(fixture).canary).toMatchObject({ waitMinutes: 30, maxExecutionTimeoutMinutes: 61 });
    });

    test('below SageMaker’s 10-minute floor is refused even with a short wait', () => {
      fixture
        .edit(EXAMPLE_MODEL, '    waitMinutes: 10', '    waitMinutes: 1')
        .edit(EXAMPLE_MODEL, '    maxExecutionTimeoutMinutes: 120', '    maxExecutionTimeoutMinutes: 9');
      expect(problemsOf(fixture)).toEqual([
        expect.stringMatching(
          /serving\.canary\.maxExecutionTimeoutMinutes: must be at least 10 and more than twice serving\.canary\.waitMinutes \(1\): .* \(got 9\)$/,
        ),
      ]);
    });
  });

  describe('serving.shadow.windowMinutes', () => {
    test('more than 1200 is refused: the stage must end within CodePipeline’s 24 hours', () => {
      fixture.edit(EXAMPLE_MODEL, '    windowMinutes: 60', '    windowMinutes: 1201');
      const line = lineOf(fixture.read(EXAMPLE_MODEL), 'windowMinutes: 1201');
      expect(problemsOf(fixture)).toEqual([
        `models/document-classifier.yaml:${line} serving.shadow.windowMinutes: too large (got 1201, expected at most 1200)`,
      ]);
    });

    test('1200 loads', () => {
      fixture.edit(EXAMPLE_MODEL, '    windowMinutes: 60', '    windowMinutes: 1200');
      expect(servingOf(fixture).shadow.windowMinutes).toBe(1200);
    });
  });

  describe('serving.dataCapture.samplingPercent', () => {
    test('a fraction of a percent is refused: SageMaker’s InitialSamplingPercentage is an integer', () => {
      fixture.edit(EXAMPLE_MODEL, '    samplingPercent: 20', '    samplingPercent: 12.5');
      const line = lineOf(fixture.read(EXAMPLE_MODEL), 'samplingPercent: 12.5');
      expect(problemsOf(fixture)).toEqual([
        `models/document-classifier.yaml:${line} serving.dataCapture.samplingPercent: wrong type (got number 12.5, expected a whole number)`,
      ]);
    });

    test('0 (capture off) loads', () => {
      fixture.edit(EXAMPLE_MODEL, '    samplingPercent: 20', '    samplingPercent: 0');
      expect(servingOf(fixture).dataCapture.samplingPercent).toBe(0);
    });
  });

  describe('evaluation.modelArtifact', () => {
    test('defaults to model.tar.gz', () => {
      fixture.write(EXAMPLE_MODEL, minimalModel(EVALUATE));
      expect(fixture.load().models[0].evaluation.modelArtifact).toBe('model.tar.gz');
    });

    test('a path ending in .tar.gz loads', () => {
      fixture.write(
        EXAMPLE_MODEL,
        minimalModel('evaluation: { command: make evaluate, modelArtifact: build/model.tar.gz }'),
      );
      expect(fixture.load().models[0].evaluation.modelArtifact).toBe('build/model.tar.gz');
    });

    test('any other archive is refused, saying what SageMaker needs', () => {
      const text = minimalModel(
        'evaluation:',
        '  command: make evaluate',
        '  modelArtifact: build/model.zip',
      );
      fixture.write(EXAMPLE_MODEL, text);
      expect(problemsOf(fixture)).toEqual([
        `models/document-classifier.yaml:${lineOf(text, 'modelArtifact:')} evaluation.modelArtifact: invalid format ` +
          `(got "build/model.zip", expected a path ending in .tar.gz (SageMaker's model archive))`,
      ]);
    });
  });

  describe('serving.image', () => {
    test('defaults to the AWS Deep Learning Containers PyTorch inference image', () => {
      fixture.write(EXAMPLE_MODEL, minimalModel(EVALUATE));
      expect(servingOf(fixture).image).toEqual({
        repository: 'pytorch-inference',
        tag: '2.6.0-cpu-py312-ubuntu22.04-sagemaker',
        account: '763104351884',
      });
    });

    test('a model’s own repository keeps the default tag and account unless it sets them', () => {
      fixture.write(
        EXAMPLE_MODEL,
        minimalModel(EVALUATE, 'serving:', '  image: { repository: doc-classifier-serving }'),
      );
      expect(servingOf(fixture).image).toEqual({
        repository: 'doc-classifier-serving',
        tag: '2.6.0-cpu-py312-ubuntu22.04-sagemaker',
        account: '763104351884',
      });
    });

    test('an account id that is not 12 digits is refused', () => {
      const text = minimalModel(EVALUATE, 'serving:', '  image:', "    account: '1234'");
      fixture.write(EXAMPLE_MODEL, text);
      expect(problemsOf(fixture)).toEqual([
        `models/document-classifier.yaml:${lineOf(text, 'account:')} serving.image.account: invalid format ` +
          '(got "1234", expected a 12-digit AWS account id, quoted)',
      ]);
    });
  });
});
