/**
 * Swapped in for `@aws-sdk/credential-provider-node` when functions are bundled (PayflowFunction):
 * Lambda hands every function its role's credentials in the environment, so the SDK's default chain
 * (SSO, INI files, STS, IMDS, ...) adds only bundle size and cold-start time there.
 */
export { fromEnv as defaultProvider } from '@aws-sdk/credential-provider-env';
