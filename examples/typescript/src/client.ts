// A small transport for hq-api's `POST /graphql`: `fetch`, a bearer token, typed documents.
import type { TypedDocumentString } from './gql/graphql';
import {
  GraphQLRequestError,
  TransportError,
  toApiError,
  type RawGraphQLError,
} from './errors';

export interface ClientOptions {
  /** The GraphQL endpoint, e.g. `https://hq.example.org/graphql`. */
  readonly url: string;
  /** The JWT sent as `Authorization: Bearer …`; omit for anonymous calls. */
  readonly token?: string;
  /** Another `fetch` (tests, instrumentation); the global one by default. */
  readonly fetch?: typeof fetch;
}

export interface RequestOptions {
  /** Extra headers, e.g. `Idempotency-Key` on a mutation. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

export interface Answer<TResult> {
  readonly data: TResult;
  /** `Idempotent-Replayed: true`: a stored answer to an earlier request with the same key. */
  readonly replayed: boolean;
}

interface GraphQLResponse<TResult> {
  readonly data?: TResult | null;
  readonly errors?: readonly RawGraphQLError[];
}

export class HqClient {
  readonly #options: ClientOptions;

  constructor(options: ClientOptions) {
    this.#options = options;
  }

  /** Runs one operation; throws `GraphQLRequestError` (typed by code) or `TransportError`. */
  async request<TResult, TVariables>(
    document: TypedDocumentString<TResult, TVariables>,
    variables: TVariables,
    options: RequestOptions = {},
  ): Promise<Answer<TResult>> {
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      Accept: 'application/graphql-response+json, application/json',
      ...options.headers,
    };
    if (this.#options.token !== undefined) {
      headers['Authorization'] = `Bearer ${this.#options.token}`;
    }
    const doFetch = this.#options.fetch ?? fetch;
    const init: RequestInit = {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: document.toString(), variables }),
    };
    if (options.signal !== undefined) {
      init.signal = options.signal;
    }
    const response = await doFetch(this.#options.url, init);

    let body: GraphQLResponse<TResult>;
    try {
      body = (await response.json()) as GraphQLResponse<TResult>;
    } catch {
      throw new TransportError(`not a GraphQL response (HTTP ${response.status})`, response.status);
    }
    if (body.errors !== undefined && body.errors.length > 0) {
      throw new GraphQLRequestError(body.errors.map(toApiError), body.data, response.status);
    }
    if (body.data === undefined || body.data === null) {
      throw new TransportError(`no data in the response (HTTP ${response.status})`, response.status);
    }
    return {
      data: body.data,
      replayed: response.headers.get('Idempotent-Replayed') === 'true',
    };
  }
}
