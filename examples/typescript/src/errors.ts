// The errors hq-api answers with: every GraphQL error carries `extensions.code` (README, "Errors").

/** Every `extensions.code` the API documents. */
export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'PERIOD_LOCKED',
  'POLICY_VIOLATION',
  'SERVICE_UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_NOT_TRUSTED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** A GraphQL error as it arrives in the response's `errors` (the spec's shape). */
export interface RawGraphQLError {
  readonly message: string;
  readonly path?: readonly (string | number)[];
  readonly locations?: readonly { readonly line: number; readonly column: number }[];
  readonly extensions?: Readonly<Record<string, unknown>>;
}

interface ErrorBase {
  readonly message: string;
  readonly path: readonly (string | number)[] | undefined;
}

/**
 * One API error, narrowed by its code: `BAD_USER_INPUT` names the input `field` (e.g.
 * `lines[2].amount`), `POLICY_VIOLATION` cites its `clause` (and may list `details`); a code this
 * client does not know yet is `UNKNOWN`, with the code as sent.
 */
export type ApiError =
  | (ErrorBase & { readonly code: 'BAD_USER_INPUT'; readonly field: string })
  | (ErrorBase & {
      readonly code: 'POLICY_VIOLATION';
      readonly clause: string | undefined;
      readonly details: unknown;
    })
  | (ErrorBase & { readonly code: Exclude<ErrorCode, 'BAD_USER_INPUT' | 'POLICY_VIOLATION'> })
  | (ErrorBase & { readonly code: 'UNKNOWN'; readonly sentCode: string | undefined });

function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** Reads one raw GraphQL error into an `ApiError`. */
export function toApiError(raw: RawGraphQLError): ApiError {
  const ext = raw.extensions ?? {};
  const base: ErrorBase = { message: raw.message, path: raw.path };
  const code = ext['code'];
  if (!isErrorCode(code)) {
    return { ...base, code: 'UNKNOWN', sentCode: typeof code === 'string' ? code : undefined };
  }
  switch (code) {
    case 'BAD_USER_INPUT': {
      const field = ext['field'];
      return { ...base, code, field: typeof field === 'string' ? field : '' };
    }
    case 'POLICY_VIOLATION': {
      const clause = ext['clause'];
      return {
        ...base,
        code,
        clause: typeof clause === 'string' ? clause : undefined,
        details: ext['details'],
      };
    }
    default:
      return { ...base, code };
  }
}

/** Thrown when a response carries GraphQL errors; `errors` are typed by code. */
export class GraphQLRequestError extends Error {
  readonly errors: readonly ApiError[];
  /** Whatever data came with the errors (a partial result), if any. */
  readonly data: unknown;
  readonly status: number;

  constructor(errors: readonly ApiError[], data: unknown, status: number) {
    super(errors.map((e) => `${e.code}: ${e.message}`).join('; ') || `HTTP ${status}`);
    this.name = 'GraphQLRequestError';
    this.errors = errors;
    this.data = data;
    this.status = status;
  }

  /** The first error with `code`, narrowed to its variant. */
  find<C extends ApiError['code']>(code: C): Extract<ApiError, { code: C }> | undefined {
    return this.errors.find((e): e is Extract<ApiError, { code: C }> => e.code === code);
  }
}

/** Thrown when the answer is not a GraphQL response at all (a proxy's 502, an HTML page...). */
export class TransportError extends Error {
  readonly status: number;

  constructor(message: string, status: number) {
    super(message);
    this.name = 'TransportError';
    this.status = status;
  }
}

/** Codes for which the same request may succeed later (send it again with the same key). */
export function isRetryable(error: ApiError): boolean {
  return error.code === 'SERVICE_UNAVAILABLE';
}

/** A message for the user, in the words of the API's error model. */
export function describe(error: ApiError): string {
  switch (error.code) {
    case 'BAD_USER_INPUT':
      return `Invalid input in ${error.field || 'the request'}: ${error.message}`;
    case 'POLICY_VIOLATION':
      return `Refused by the policy${error.clause ? ` (${error.clause})` : ''}: ${error.message}`;
    case 'CONFLICT':
      return `Conflict: ${error.message}`;
    case 'PERIOD_LOCKED':
      return `The fiscal year is locked (its settlement is approved): ${error.message}`;
    case 'FORBIDDEN':
      return `Not allowed for your role or district: ${error.message}`;
    case 'UNAUTHENTICATED':
      return 'Your session has expired or is invalid: sign in again.';
    case 'NOT_FOUND':
      return `Not found: ${error.message}`;
    case 'SERVICE_UNAVAILABLE':
      return 'The service is unavailable for a moment: try again.';
    case 'INTERNAL_SERVER_ERROR':
      return 'The server failed; the error is logged there.';
    case 'PERSISTED_QUERY_NOT_FOUND':
    case 'PERSISTED_QUERY_NOT_SUPPORTED':
    case 'OPERATION_NOT_TRUSTED':
      return `The operation was not accepted (${error.code}): ${error.message}`;
    case 'UNKNOWN':
      return `${error.sentCode ?? 'Error'}: ${error.message}`;
    default:
      return assertNever(error);
  }
}

/** Fails type-checking when a `switch` over a union misses a case. */
export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
