#!/usr/bin/env node
// CDK entry: wiring only. The config directory defaults to the shipped `config/`;
// `cdk synth -c configDir=path/to/config` synthesizes another one.
// First: cdk-nag must not load the aws-cdk-lib services the platform does not use.
import '../lib/nag/before-cdk-nag';
import { App } from 'aws-cdk-lib';
import { buildPlatformFromConfig } from '../lib/app-main';

// aws-cdk-lib's built-in template validation costs most of the synth time (measured: ~10 of ~12 s)
// and checks what cfn-lint checks on every template in `npm test`; CDK_VALIDATION=true turns it on.
// cdk-nag runs either way.
const app = new App({ builtinCloudFormationValidation: process.env.CDK_VALIDATION === 'true' });
const configDir = (app.node.tryGetContext('configDir') as string | undefined) ?? 'config';
if (buildPlatformFromConfig(app, configDir) === null) process.exit(1);
