/**
 * The emulated endpoint's data capture: one JSON line per request and variant, with `eventId` and
 * the caller's `inferenceId`, for a config whose DataCaptureConfig leaves EnableCapture out (AWS:
 * "defaults to enabled", API_DataCaptureConfig) and for none when it is false.
 */
import { Cloud, type EndpointConfig } from '../../lib/rehearsal/cloud';
import { Random } from '../../lib/rehearsal/random';

const START = Date.parse('2026-01-05T09:00:00.000Z');

function capturedLines(enableCapture: boolean | undefined): Record<string, any>[] {
  const cloud = new Cloud(START, new Random(1), []);
  const config: EndpointConfig = {
    EndpointConfigName: 'c',
    ProductionVariants: [
      { VariantName: 'live', ModelName: 'm', InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 1 },
    ],
    DataCaptureConfig: {
      ...(enableCapture === undefined ? {} : { EnableCapture: enableCapture }),
      InitialSamplingPercentage: 100,
      DestinationS3Uri: 's3://bucket/capture',
    },
  };
  cloud.configs.set('c', config);
  cloud.createEndpoint('e', 'c');
  cloud.nowMs += 60 * 60_000;
  cloud.settle();
  cloud.invoke({ EndpointName: 'e', Body: '{"text":"x"}', InferenceId: 'request-1' });
  return [...cloud.s3.entries()]
    .filter(([key]) => key.startsWith('bucket/capture/e/live/2026/01/05/10/'))
    .flatMap(([, versions]) => versions.at(-1)!.trim().split('\n'))
    .map((line) => JSON.parse(line) as Record<string, any>);
}

describe('data capture in the rehearsal', () => {
  it('captures when EnableCapture is left out, with eventId and the inferenceId the caller sent', () => {
    const lines = capturedLines(undefined);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.eventMetadata).toMatchObject({
      eventId: expect.stringMatching(/^[0-9a-f]{32}$/),
      inferenceId: 'request-1',
    });
    expect(lines[0]!.captureData.endpointInput.data).toBe('{"text":"x"}');
  });

  it('captures nothing when EnableCapture is false', () => {
    expect(capturedLines(false)).toEqual([]);
    expect(capturedLines(true)).toHaveLength(1);
  });
});
