// 3. A district's claim for a fiscal year, with its lines (paginated) and their verdicts.
import type { Answer, HqClient } from '../client';
import { graphql } from '../gql';
import type { ClaimStatus, DistrictClaimQuery } from '../gql/graphql';

export const DistrictClaimDocument = graphql(`
  query DistrictClaim($districtCode: String!, $fiscalYear: Int!, $first: Int, $after: String) {
    district(code: $districtCode) {
      code
      name
      kind
    }
    claim(districtCode: $districtCode, fiscalYear: $fiscalYear) {
      id
      districtCode
      fiscalYear
      status
      lineCount
      paidTotal
      contentHash
      submittedAt
      submittedBy
      history {
        action
        reason
        actor
        at
      }
      lines(first: $first, after: $after) {
        totalCount
        pageInfo {
          hasNextPage
          endCursor
        }
        nodes {
          id
          seq
          creditCode
          kind
          subsidyYear
          contractNo
          basis
          transactionDate
          amount
          paymentDate
          voucherNo
          verdict {
            eligible
            cut
            primaryReason
            reasons {
              code
              clause
              detail
            }
            ratioGroup
            groupLimit
            decidedAt
            decidedBy
          }
        }
      }
    }
  }
`);

export type DistrictClaim = NonNullable<DistrictClaimQuery['claim']>;
export type ClaimLine = DistrictClaim['lines']['nodes'][number];

/** The claim with every line (all pages), or null if the district never submitted one. */
export async function districtClaim(
  client: HqClient,
  districtCode: string,
  fiscalYear: number,
  pageSize = 100,
): Promise<{ readonly claim: DistrictClaim; readonly lines: readonly ClaimLine[] } | null> {
  const lines: ClaimLine[] = [];
  let claim: DistrictClaim | null = null;
  let after: string | null = null;
  do {
    const answer: Answer<DistrictClaimQuery> = await client.request(DistrictClaimDocument, {
      districtCode,
      fiscalYear,
      first: pageSize,
      after,
    });
    const page = answer.data.claim;
    if (!page) {
      return null;
    }
    claim ??= page;
    lines.push(...page.lines.nodes);
    after = page.lines.pageInfo.hasNextPage ? (page.lines.pageInfo.endCursor ?? null) : null;
  } while (after !== null);
  return { claim, lines };
}

const STATUS: Readonly<Record<ClaimStatus, string>> = {
  SUBMITTED: 'submitted, waiting for reconciliation',
  RETURNED: 'returned to the district',
  RECONCILED: 'reconciled',
  APPROVED: 'approved in a settlement (locked)',
};

/** One line's verdict as text: what counts, what is cut and why. */
export function verdictText(line: ClaimLine): string {
  const v = line.verdict;
  if (!v) {
    return `${line.voucherNo} ${line.kind} ${line.amount}: no verdict yet`;
  }
  const why = v.reasons.map((r) => `${r.clause} ${r.code}: ${r.detail}`).join('; ');
  return `${line.voucherNo} ${line.kind} paid ${line.amount}, eligible ${v.eligible}, cut ${v.cut}${why ? ` (${why})` : ''}`;
}

export function claimHeader(claim: DistrictClaim): string {
  return `claim ${claim.id} of ${claim.districtCode} for ${claim.fiscalYear}: ${STATUS[claim.status]}, ${claim.lineCount} lines, ${claim.paidTotal} paid`;
}
