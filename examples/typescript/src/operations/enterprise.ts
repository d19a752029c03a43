// 2. One enterprise by its credit code: its facts, recognitions and star ratings.
import type { HqClient } from '../client';
import { graphql } from '../gql';
import type { EnterpriseDetailQuery, RecognitionRoute } from '../gql/graphql';

export const EnterpriseDetailDocument = graphql(`
  query EnterpriseDetail($creditCode: String!, $asOf: Date) {
    enterprise(creditCode: $creditCode) {
      creditCode
      registeredAt
      facts(asOf: $asOf) {
        validFrom
        validTo
        name
        districtCode
        district {
          code
          name
          kind
        }
        hangzhouSince
        industryCode
        ownership
        industrialGuidance
        independentLegalPerson
        operating
        unifiedAccounting
        outsideUnits
        listingExchange
        listedEntityInHangzhou
        dishonest
        ownsOffice
        registeredCapital
      }
      recognitions {
        year
        decidedOn
        route
        needsReview
      }
      starRatings {
        year
        stars
      }
    }
  }
`);

export type EnterpriseDetail = NonNullable<EnterpriseDetailQuery['enterprise']>;

/** The enterprise, or null when no enterprise is registered under the code. */
export async function enterpriseDetail(
  client: HqClient,
  creditCode: string,
  asOf?: string,
): Promise<EnterpriseDetail | null> {
  const { data } = await client.request(EnterpriseDetailDocument, { creditCode, asOf: asOf ?? null });
  return data.enterprise ?? null;
}

const ROUTE_LABELS: Readonly<Record<RecognitionRoute, string>> = {
  STANDARD: '§3.2 revenue threshold',
  RD: '§3.3 R&D HQ (研发型总部)',
  LISTED: '§3.4 listed HQ (上市企业总部)',
};

/** A summary reading every part of the answer. */
export function summarize(e: EnterpriseDetail): string[] {
  const lines = [`${e.creditCode} ${e.facts?.name ?? '(facts not started)'}, entered ${e.registeredAt}`];
  if (e.facts) {
    const f = e.facts;
    lines.push(
      `  ${f.district?.name ?? 'outside Hangzhou'} since ${f.hangzhouSince ?? '—'}, class ${f.industryCode}, ${f.ownership}`,
      `  facts ${f.validFrom} to ${f.validTo ?? 'now'}; capital ${f.registeredCapital ?? 'not recorded'}` +
        (f.listingExchange ? `; listed on ${f.listingExchange}` : '') +
        (f.dishonest ? '; ON THE DISHONESTY LIST' : ''),
    );
  }
  for (const r of e.recognitions) {
    lines.push(`  recognised for ${r.year} on ${r.decidedOn}: ${ROUTE_LABELS[r.route]}${r.needsReview ? ' (review)' : ''}`);
  }
  for (const s of e.starRatings) {
    lines.push(`  ${s.year}: ${'★'.repeat(s.stars)}`);
  }
  return lines;
}
