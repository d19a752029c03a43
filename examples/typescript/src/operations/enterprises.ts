// 1. The registry: `enterprises` with filters, an order and cursor pagination (Relay).
import type { HqClient } from '../client';
import { graphql } from '../gql';
import type { EnterpriseFilter, EnterpriseOrderBy, EnterprisesQuery } from '../gql/graphql';

export const EnterprisesDocument = graphql(`
  query Enterprises(
    $filter: EnterpriseFilter
    $orderBy: EnterpriseOrderBy
    $first: Int
    $after: String
    $asOf: Date
  ) {
    enterprises(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        cursor
        node {
          creditCode
          name(asOf: $asOf)
          district(asOf: $asOf) {
            code
            name
            kind
          }
          facts(asOf: $asOf) {
            industryCode
            ownership
            hangzhouSince
            registeredCapital
          }
          registeredAt
        }
      }
    }
  }
`);

export type EnterpriseRow = EnterprisesQuery['enterprises']['edges'][number]['node'];

export interface EnterprisePage {
  readonly rows: readonly EnterpriseRow[];
  readonly totalCount: number;
  /** Pass back as `after` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

/** One page of the registry, e.g. the HQs of 2024 in 西湖区 with 5 stars, by name. */
export async function enterprisePage(
  client: HqClient,
  filter: EnterpriseFilter,
  page: { readonly first: number; readonly after?: string | null; readonly orderBy?: EnterpriseOrderBy },
): Promise<EnterprisePage> {
  const { data } = await client.request(EnterprisesDocument, {
    filter,
    orderBy: page.orderBy ?? 'NAME',
    first: page.first,
    after: page.after ?? null,
    asOf: filter.asOf ?? null,
  });
  const { edges, pageInfo, totalCount } = data.enterprises;
  return {
    rows: edges.map((edge) => edge.node),
    totalCount,
    nextCursor: pageInfo.hasNextPage ? (pageInfo.endCursor ?? null) : null,
  };
}

/** Every enterprise matching `filter`, page after page. */
export async function* allEnterprises(
  client: HqClient,
  filter: EnterpriseFilter,
  pageSize = 50,
): AsyncGenerator<EnterpriseRow> {
  let after: string | null = null;
  do {
    const page: EnterprisePage = await enterprisePage(client, filter, { first: pageSize, after });
    yield* page.rows;
    after = page.nextCursor;
  } while (after !== null);
}

/** A table line, reading the typed fields (a renamed or retyped field fails `tsc`). */
export function enterpriseLine(row: EnterpriseRow): string {
  const district = row.district ? `${row.district.name} (${row.district.code}, ${row.district.kind})` : 'outside Hangzhou';
  const capital: string = row.facts?.registeredCapital ?? '—';
  return `${row.creditCode}  ${row.name ?? '(no facts yet)'}  ${district}  ${row.facts?.industryCode ?? ''}  ${capital}`;
}

export const example: EnterpriseFilter = {
  asOf: '2025-06-30',
  districtCode: '330106',
  recognizedIn: 2024,
  route: 'STANDARD',
  ratedIn: 2024,
  stars: 5,
};
