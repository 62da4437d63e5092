// The peer of `cdk synth` in bench/startup.ts: the smallest app the same CLI and tsx synthesize.
import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';

// Built-in template validation off, as bin/app.ts has it: the two differ only in what they build.
const app = new App({ builtinCloudFormationValidation: false });
new s3.Bucket(new Stack(app, 'OneBucket'), 'Bucket');
app.synth();
