// hq-api's typed client: the transport, the error helper and the five operations.
export { HqClient, type ClientOptions, type RequestOptions, type Answer } from './client';
export * from './errors';
export * from './operations/enterprises';
export * from './operations/enterprise';
export * from './operations/claim';
export * from './operations/settlement';
export * from './operations/reportPayments';
