// 5. `reportPayments`: a district reports its §7 payment lines, all or nothing. The mutation is
// sent with an `Idempotency-Key` (one per user action, reused on every retry of it), and its
// errors are handled by `extensions.code`.
import type { HqClient } from '../client';
import { GraphQLRequestError, TransportError, isRetryable, type ApiError } from '../errors';
import { graphql } from '../gql';
import type { PaymentLineInput, ReportPaymentsMutation } from '../gql/graphql';

export const ReportPaymentsDocument = graphql(`
  mutation ReportPayments($districtCode: String!, $fiscalYear: Int!, $lines: [PaymentLineInput!]!) {
    reportPayments(districtCode: $districtCode, fiscalYear: $fiscalYear, lines: $lines) {
      created {
        id
        seq
        key
        voucherNo
        amount
        reportedAt
      }
      unchanged {
        id
        seq
        key
        voucherNo
        amount
        reportedAt
      }
    }
  }
`);

type Reported = ReportPaymentsMutation['reportPayments'];

/** Where a `BAD_USER_INPUT` points: `lines[2].amount` is line 2's `amount`. */
export interface InvalidField {
  readonly field: string;
  /** The batch index, when the field is inside `lines`. */
  readonly line: number | undefined;
  /** The input field of that line, when it is one of `PaymentLineInput`'s. */
  readonly input: keyof PaymentLineInput | undefined;
  readonly message: string;
}

/** Everything the form needs to show; a `switch` on `kind` must handle each. */
export type ReportOutcome =
  | {
      readonly kind: 'reported';
      readonly created: Reported['created'];
      readonly unchanged: Reported['unchanged'];
      /** The answer stored for this key by an earlier attempt. */
      readonly replayed: boolean;
    }
  | { readonly kind: 'invalid'; readonly fields: readonly InvalidField[] }
  | { readonly kind: 'conflict'; readonly message: string }
  | { readonly kind: 'periodLocked'; readonly message: string }
  | { readonly kind: 'forbidden'; readonly message: string }
  | { readonly kind: 'unauthenticated' }
  | { readonly kind: 'failed'; readonly errors: readonly ApiError[] };

const LINE_INPUT_FIELDS: readonly (keyof PaymentLineInput)[] = [
  'creditCode',
  'kind',
  'subsidyYear',
  'contractNo',
  'basis',
  'transactionDate',
  'amount',
  'paymentDate',
  'voucherNo',
];

function isLineInputField(name: string): name is keyof PaymentLineInput {
  return (LINE_INPUT_FIELDS as readonly string[]).includes(name);
}

export function invalidField(field: string, message: string): InvalidField {
  const m = /^lines\[(\d+)\](?:\.(\w+))?$/.exec(field);
  const input = m?.[2];
  return {
    field,
    line: m?.[1] !== undefined ? Number(m[1]) : undefined,
    input: input !== undefined && isLineInputField(input) ? input : undefined,
    message,
  };
}

/** Maps the errors of one failed request to an outcome, by the first decisive code. */
export function outcomeOfErrors(errors: readonly ApiError[]): ReportOutcome {
  const invalid = errors.flatMap((e) => (e.code === 'BAD_USER_INPUT' ? [invalidField(e.field, e.message)] : []));
  if (invalid.length > 0) {
    return { kind: 'invalid', fields: invalid };
  }
  for (const e of errors) {
    switch (e.code) {
      case 'CONFLICT':
        // A voucher number already reported with other content, or this key used for another request.
        return { kind: 'conflict', message: e.message };
      case 'PERIOD_LOCKED':
        return { kind: 'periodLocked', message: e.message };
      case 'FORBIDDEN':
        return { kind: 'forbidden', message: e.message };
      case 'UNAUTHENTICATED':
        return { kind: 'unauthenticated' };
      default:
        break;
    }
  }
  return { kind: 'failed', errors };
}

export interface ReportOptions {
  /** One key per user action (e.g. generated when the form is opened); a retry reuses it. */
  readonly idempotencyKey?: string;
  /** Attempts after the first, on network failures and `SERVICE_UNAVAILABLE`. */
  readonly retries?: number;
  readonly retryDelayMs?: number;
}

/**
 * Reports a batch of lines. A network failure or `SERVICE_UNAVAILABLE` is retried with the same
 * `Idempotency-Key`, so a batch the server did write is answered again, not written twice.
 */
export async function reportPayments(
  client: HqClient,
  districtCode: string,
  fiscalYear: number,
  lines: readonly PaymentLineInput[],
  options: ReportOptions = {},
): Promise<ReportOutcome> {
  const idempotencyKey = options.idempotencyKey ?? crypto.randomUUID();
  const retries = options.retries ?? 2;
  for (let attempt = 0; ; attempt++) {
    try {
      const { data, replayed } = await client.request(
        ReportPaymentsDocument,
        { districtCode, fiscalYear, lines },
        { headers: { 'Idempotency-Key': idempotencyKey } },
      );
      return { kind: 'reported', ...data.reportPayments, replayed };
    } catch (error) {
      const retryable =
        error instanceof GraphQLRequestError
          ? error.errors.some(isRetryable)
          : error instanceof TransportError || error instanceof TypeError; // fetch: network failure
      if (retryable && attempt < retries) {
        await new Promise((resolve) => setTimeout(resolve, (options.retryDelayMs ?? 500) * 2 ** attempt));
        continue;
      }
      if (error instanceof GraphQLRequestError) {
        return outcomeOfErrors(error.errors);
      }
      throw error;
    }
  }
}

/** What the form shows for an outcome; exhaustive over `ReportOutcome['kind']`. */
export function outcomeMessage(outcome: ReportOutcome): string {
  switch (outcome.kind) {
    case 'reported':
      return `${outcome.created.length} lines reported, ${outcome.unchanged.length} already there${outcome.replayed ? ' (answer replayed)' : ''}`;
    case 'invalid':
      return outcome.fields
        .map((f) => (f.line !== undefined ? `line ${f.line + 1}${f.input ? ` (${f.input})` : ''}: ${f.message}` : `${f.field}: ${f.message}`))
        .join('\n');
    case 'conflict':
      return `Conflict: ${outcome.message}`;
    case 'periodLocked':
      return `The year is closed (settlement approved): ${outcome.message}`;
    case 'forbidden':
      return `Your district may not report this: ${outcome.message}`;
    case 'unauthenticated':
      return 'Sign in again.';
    case 'failed':
      return outcome.errors.map((e) => `${e.code}: ${e.message}`).join('\n');
  }
}

/** A line as the form builds it: enum values are the GraphQL names, amounts and dates strings. */
export const exampleLine = {
  creditCode: '91330106MA2XXXXXX1',
  kind: 'RENT',
  subsidyYear: 2024,
  contractNo: 'ZL-2024-017',
  basis: '1200000.00',
  amount: '300000.00',
  paymentDate: '2025-03-18',
  voucherNo: 'XH-2025-0042',
} satisfies PaymentLineInput;
