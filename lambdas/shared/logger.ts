import { Logger } from '@aws-lambda-powertools/logger';

/** One structured logger per function; handlers add the pipeline execution id with `appendKeys`. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'mlops' });
