import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Fn, Stack, Validations } from 'aws-cdk-lib';
import { CfnEndpointConfig } from 'aws-cdk-lib/aws-sagemaker';
import fc from 'fast-check';
import {
  autoscalingProblems,
  blueGreenVariantNameProblems,
  canarySizeProblems,
  dataCaptureSamplingProblems,
  ENDPOINT_CONFIG_TYPE,
  SageMakerServiceRulesChecks,
  shadowSamplingProblems,
  shadowVariantProblems,
} from '../../lib/nag/sagemaker-rules';
import { canaryInstanceCount } from '../../lambdas/core/serving/endpoint-spec';

describe('shadowVariantProblems', () => {
  test('one production variant beside one shadow variant is accepted', () => {
    expect(
      shadowVariantProblems({
        endpointConfig: 'Live',
        productionVariants: ['live'],
        shadowVariants: ['candidate'],
      }),
    ).toEqual([]);
  });

  test('several production variants without a shadow variant are not this rule’s business', () => {
    expect(
      shadowVariantProblems({ endpointConfig: 'Live', productionVariants: ['a', 'b'], shadowVariants: [] }),
    ).toEqual([]);
  });

  test('two production variants beside a shadow variant are refused, naming both and the fix', () => {
    const problems = shadowVariantProblems({
      endpointConfig: 'Model/Live',
      productionVariants: ['live', 'standby'],
      shadowVariants: ['candidate'],
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^Endpoint config Model\/Live has 2 production variants \('live', 'standby'\)/,
    );
    expect(problems[0]).toContain('exactly 1 production variant');
    expect(problems[0]).toContain('Fix: keep only the live production variant');
  });

  test('two shadow variants are refused', () => {
    const problems = shadowVariantProblems({
      endpointConfig: 'Live',
      productionVariants: ['live'],
      shadowVariants: ['c1', 'c2'],
    });
    expect(problems).toEqual([
      expect.stringMatching(/has 2 shadow variants \('c1', 'c2'\).*exactly 1 shadow variant/),
    ]);
  });
});

describe('blueGreenVariantNameProblems', () => {
  test('the same names in another order are accepted', () => {
    expect(
      blueGreenVariantNameProblems(
        { endpointConfig: 'old', variantNames: ['a', 'b'] },
        { endpointConfig: 'new', variantNames: ['b', 'a'] },
      ),
    ).toEqual([]);
  });

  test('a renamed variant is refused, naming what was dropped and added and the names to use', () => {
    const problems = blueGreenVariantNameProblems(
      { endpointConfig: 'cfg-v1', variantNames: ['live'] },
      { endpointConfig: 'cfg-v2', variantNames: ['candidate'] },
    );
    expect(problems).toEqual([
      "Endpoint config cfg-v2 drops 'live' and adds 'candidate' compared with the config in service (cfg-v1: 'live'); " +
        'a blue/green update needs the same variant names in the old and new configs. ' +
        "Fix: name the new config's variants 'live', as in the config in service.",
    ]);
  });

  test('an added variant alone is refused too', () => {
    const problems = blueGreenVariantNameProblems(
      { endpointConfig: 'old', variantNames: ['live'] },
      { endpointConfig: 'new', variantNames: ['live', 'extra'] },
    );
    expect(problems).toEqual([expect.stringMatching(/^Endpoint config new adds 'extra' compared/)]);
  });
});

describe('canarySizeProblems', () => {
  test('10 % of 10 instances (one instance) is accepted', () => {
    expect(canarySizeProblems({ variant: 'live', sizePercent: 10, instanceCount: 10 })).toEqual([]);
  });

  test('10 % of 2 instances is accepted: the platform sends it as one whole instance', () => {
    expect(canarySizeProblems({ variant: 'live', sizePercent: 10, instanceCount: 2 })).toEqual([]);
    expect(canaryInstanceCount(10, 2)).toBe(1);
  });

  test('50 % is the largest canary SageMaker allows', () => {
    expect(canarySizeProblems({ variant: 'live', sizePercent: 50, instanceCount: 2 })).toEqual([]);
    expect(canarySizeProblems({ variant: 'live', sizePercent: 51, instanceCount: 100 })).toEqual([
      'Variant live: canary size 51 % is outside 1..50 %; SageMaker allows a canary of at most 50 % of the new fleet. Fix: choose a canary size between 1 and 50 %.',
    ]);
  });

  test('0 % is refused', () => {
    expect(canarySizeProblems({ variant: 'live', sizePercent: 0, instanceCount: 4 })).toEqual([
      expect.stringContaining('Variant live: canary size 0 % is outside 1..50 %'),
    ]);
  });

  test('a single-instance fleet cannot have a canary, and the message says why and how to fix it', () => {
    expect(canarySizeProblems({ variant: 'live', sizePercent: 50, instanceCount: 1 })).toEqual([
      'Variant live: one canary instance would be more than 50 % of a fleet of 1; ' +
        'SageMaker allows a canary of at most 50 % of the fleet, so this fleet cannot have a canary. ' +
        'Fix: run 2 or more instances.',
    ]);
  });

  test.each([0, -3, 2.5, Number.NaN])(
    'a fleet of %p instances is refused as not a whole number ≥ 2',
    (instanceCount) => {
      expect(canarySizeProblems({ variant: 'live', sizePercent: 10, instanceCount })).toEqual([
        `Variant live: the canary's fleet has ${instanceCount} instances; it needs a whole number of at least 2. Fix: run 2 or more instances.`,
      ]);
    },
  );

  test('a fractional percentage is refused, with the nearest whole one', () => {
    expect(canarySizeProblems({ variant: 'live', sizePercent: 12.5, instanceCount: 8 })).toEqual([
      'Variant live: canary size 12.5 % is not a whole percentage. Fix: use a whole number such as 13 %.',
    ]);
  });

  test('every problem is reported at once', () => {
    expect(canarySizeProblems({ variant: 'live', sizePercent: 60.5, instanceCount: 1 })).toEqual([
      expect.stringContaining('one canary instance would be more than 50 % of a fleet of 1'),
      expect.stringContaining(
        'canary size 60.5 % is not a whole percentage. Fix: use a whole number such as 50 %.',
      ),
      expect.stringContaining('canary size 60.5 % is outside 1..50 %'),
    ]);
  });

  test('property: accepted exactly when the percentage is whole and the platform can size the canary', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: -5, max: 120 }), fc.double({ min: -5, max: 120, noNaN: true })),
        fc.oneof(fc.integer({ min: -2, max: 200 }), fc.double({ min: -2, max: 200, noNaN: true })),
        (sizePercent, instanceCount) => {
          const accepted = canarySizeProblems({ variant: 'v', sizePercent, instanceCount }).length === 0;
          let sent: number | undefined;
          try {
            sent = canaryInstanceCount(sizePercent, instanceCount);
          } catch (error) {
            expect(error).toBeInstanceOf(RangeError);
          }
          expect(accepted).toBe(Number.isInteger(sizePercent) && sent !== undefined);
          if (accepted) {
            // SageMaker's rule on what is sent: a whole number of instances, 1..50 % of the fleet.
            expect(Number.isInteger(sent)).toBe(true);
            expect(sent).toBeGreaterThanOrEqual(1);
            expect(sent! * 2).toBeLessThanOrEqual(instanceCount);
          }
        },
      ),
    );
  });
});

describe('autoscalingProblems', () => {
  test('1 ≤ min ≤ initial ≤ max is accepted', () => {
    expect(
      autoscalingProblems({ variant: 'live', minInstances: 1, initialInstanceCount: 2, maxInstances: 4 }),
    ).toEqual([]);
  });

  test('a minimum of 0 is refused', () => {
    expect(
      autoscalingProblems({ variant: 'live', minInstances: 0, initialInstanceCount: 1, maxInstances: 4 }),
    ).toEqual([
      expect.stringContaining('minInstances is 0; a real-time endpoint variant needs at least 1 instance'),
    ]);
  });

  test('min above max is refused with both values', () => {
    expect(
      autoscalingProblems({ variant: 'live', minInstances: 5, initialInstanceCount: 5, maxInstances: 4 }),
    ).toEqual([
      'Variant live: minInstances 5 exceeds maxInstances 4. Fix: lower minInstances or raise maxInstances.',
    ]);
  });

  test('an initial count outside the limits is refused with the range', () => {
    expect(
      autoscalingProblems({ variant: 'live', minInstances: 2, initialInstanceCount: 1, maxInstances: 4 }),
    ).toEqual([expect.stringContaining('initialInstanceCount 1 is outside the autoscaling limits 2..4')]);
  });

  test('a fractional count is refused', () => {
    expect(
      autoscalingProblems({ variant: 'live', minInstances: 1, initialInstanceCount: 1.5, maxInstances: 4 }),
    ).toEqual([expect.stringContaining('initialInstanceCount is 1.5; instance counts are whole numbers')]);
  });
});

describe('dataCaptureSamplingProblems', () => {
  test.each([0, 20, 100])('%d %% is accepted', (samplingPercent) => {
    expect(dataCaptureSamplingProblems({ endpointConfig: 'Live', samplingPercent })).toEqual([]);
  });

  test.each([20.5, -1, 101])('%d %% is refused', (samplingPercent) => {
    expect(dataCaptureSamplingProblems({ endpointConfig: 'Live', samplingPercent })).toEqual([
      expect.stringContaining(
        `data capture sampling ${samplingPercent} % is not a whole percentage in 0..100`,
      ),
    ]);
  });
});

describe('shadowSamplingProblems', () => {
  test.each([1, 50, 100])('%d %% is accepted', (samplingPercent) => {
    expect(shadowSamplingProblems({ variant: 'candidate', samplingPercent })).toEqual([]);
  });

  test.each([0, 100.5])('%d %% is refused', (samplingPercent) => {
    expect(shadowSamplingProblems({ variant: 'candidate', samplingPercent })).toEqual([
      `Shadow variant candidate: sampling ${samplingPercent} % is outside 1..100 %; a shadow variant receives a copy of 1 to 100 % of live requests. ` +
        'Fix: set serving.shadow.samplingPercent between 1 and 100.',
    ]);
  });
});

describe('SageMakerServiceRulesChecks', () => {
  test('looks for the type CfnEndpointConfig synthesizes (compared before the class is loaded)', () => {
    expect(ENDPOINT_CONFIG_TYPE).toBe(CfnEndpointConfig.CFN_RESOURCE_TYPE_NAME);
  });

  let outdir: string;
  beforeEach(() => {
    outdir = mkdtempSync(path.join(tmpdir(), 'mlops-sagemaker-nag-'));
  });
  afterEach(() => rmSync(outdir, { recursive: true, force: true }));

  const variant = (variantName: string): CfnEndpointConfig.ProductionVariantProperty => ({
    variantName,
    modelName: `${variantName}-model`,
    initialInstanceCount: 1,
    instanceType: 'ml.m5.large',
  });

  function appWithPack() {
    const app = new App({ builtinCloudFormationValidation: false, outdir });
    Validations.of(app).addPlugins(new SageMakerServiceRulesChecks(app));
    return { app, stack: new Stack(app, 'Serving') };
  }

  const report = () => readFileSync(path.join(outdir, 'validation-report.json'), 'utf8');

  test('two production variants beside a shadow variant fail the synth, naming the rule and the construct', () => {
    // GIVEN an endpoint config SageMaker would refuse
    const { app, stack } = appWithPack();
    new CfnEndpointConfig(stack, 'Live', {
      productionVariants: [variant('live'), variant('standby')],
      shadowProductionVariants: [variant('candidate')],
    });
    // WHEN synthesized THEN the synth fails and the report says why and where
    expect(() => app.synth()).toThrow(/Serving\/Live has 2 production variants/);
    const text = report();
    expect(text).toContain('MlopsSageMaker-ShadowVariantCount');
    expect(text).toContain('"constructPath": "Serving/Live"');
    expect(text).toContain("has 2 production variants ('live', 'standby')");
  });

  test('every offending endpoint config is listed under the rule with its own problem', () => {
    const { app, stack } = appWithPack();
    new CfnEndpointConfig(stack, 'A', {
      productionVariants: [variant('live'), variant('standby')],
      shadowProductionVariants: [variant('candidate')],
    });
    new CfnEndpointConfig(stack, 'B', {
      productionVariants: [variant('blue'), variant('green'), variant('red')],
      shadowProductionVariants: [variant('candidate')],
    });
    expect(() => app.synth()).toThrow(/MlopsSageMaker/);
    const violation = JSON.parse(report()).pluginReports[0].violations[0];
    expect(violation.violatingConstructs.map((c: { constructPath: string }) => c.constructPath)).toEqual([
      'Serving/A',
      'Serving/B',
    ]);
    expect(violation.description).toContain("Serving/A has 2 production variants ('live', 'standby')");
    expect(violation.description).toContain("Serving/B has 3 production variants ('blue', 'green', 'red')");
  });

  test('a fractional data capture sampling fails the synth', () => {
    const { app, stack } = appWithPack();
    new CfnEndpointConfig(stack, 'Live', {
      productionVariants: [variant('live')],
      dataCaptureConfig: {
        initialSamplingPercentage: 12.5,
        destinationS3Uri: 's3://capture/live',
        captureOptions: [{ captureMode: 'Input' }, { captureMode: 'Output' }],
      },
    });
    expect(() => app.synth()).toThrow(/data capture sampling 12\.5 %/);
    expect(report()).toContain('MlopsSageMaker-DataCaptureSampling');
    expect(report()).toContain('data capture sampling 12.5 %');
  });

  test('one production variant, one shadow variant and whole-percent data capture synthesize', () => {
    const { app, stack } = appWithPack();
    new CfnEndpointConfig(stack, 'Live', {
      productionVariants: [variant('live')],
      shadowProductionVariants: [variant('candidate')],
      dataCaptureConfig: {
        initialSamplingPercentage: 20,
        destinationS3Uri: 's3://capture/live',
        captureOptions: [{ captureMode: 'Input' }, { captureMode: 'Output' }],
      },
    });
    expect(() => app.synth()).not.toThrow();
  });

  test('variant lists only known at deploy time are skipped, not guessed', () => {
    const { app, stack } = appWithPack();
    const cfg = new CfnEndpointConfig(stack, 'Live', { productionVariants: [variant('live')] });
    cfg.productionVariants = Fn.getAtt(
      'Elsewhere',
      'Variants',
    ) as unknown as CfnEndpointConfig['productionVariants'];
    cfg.shadowProductionVariants = [variant('candidate')];
    expect(() => app.synth()).not.toThrow();
  });

  test('a finding acknowledged on the construct, with a reason, no longer fails the synth', () => {
    const { app, stack } = appWithPack();
    const cfg = new CfnEndpointConfig(stack, 'Live', {
      productionVariants: [variant('live'), variant('standby')],
      shadowProductionVariants: [variant('candidate')],
    });
    Validations.of(cfg).acknowledge({
      id: 'MlopsSageMaker-ShadowVariantCount',
      reason: 'test: the acknowledgement id is the rule id',
    });
    expect(() => app.synth()).not.toThrow();
  });
});
