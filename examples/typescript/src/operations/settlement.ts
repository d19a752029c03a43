// 4. The settlement of a fiscal year: per-district lines and, for city roles, the totals.
import type { HqClient } from '../client';
import { graphql } from '../gql';
import type { SettlementQuery, ZeroReason } from '../gql/graphql';

// `budget` and `totals` are FORBIDDEN for a district actor: a district's page asks without them.
export const SettlementDocument = graphql(`
  query Settlement($fiscalYear: Int!, $cityWide: Boolean!) {
    settlement(fiscalYear: $fiscalYear) {
      fiscalYear
      status
      rate
      payableYear
      draftedAt
      draftedBy
      approvedAt
      approvedBy
      auditHeadAtApproval
      budget @include(if: $cityWide)
      districts {
        districtCode
        reported
        eligible
        cut
        cutByReason {
          reason
          clause
          amount
        }
        reimbursement
        granted
        adjustments
        netPayable
        payableYear
        zeroReason
      }
      totals @include(if: $cityWide) {
        reported
        eligible
        cut
        reimbursement
        granted
        adjustments
        netPayable
      }
    }
  }
`);

export type Settlement = NonNullable<SettlementQuery['settlement']>;

/** The settlement, or null before its first draft. `cityWide: false` for a district's token. */
export async function settlement(
  client: HqClient,
  fiscalYear: number,
  cityWide: boolean,
): Promise<Settlement | null> {
  const { data } = await client.request(SettlementDocument, { fiscalYear, cityWide });
  return data.settlement ?? null;
}

const ZERO: Readonly<Record<ZeroReason, string>> = {
  NO_LINES: 'no line reported',
  NOT_SUBMITTED: 'claim not submitted',
  NOT_RECONCILED: 'claim not reconciled',
};

export function settlementRows(s: Settlement): string[] {
  // Amounts are Decimal strings: shown as sent, never parsed into floats.
  const rows = s.districts.map(
    (d) =>
      `${d.districtCode}  reported ${d.reported}  eligible ${d.eligible}  granted ${d.granted}  net ${d.netPayable}` +
      (d.zeroReason ? `  (${ZERO[d.zeroReason]})` : ''),
  );
  if (s.totals) {
    rows.push(`city  reported ${s.totals.reported}  granted ${s.totals.granted}  net ${s.totals.netPayable}`);
  }
  rows.unshift(`${s.fiscalYear} ${s.status} at rate ${s.rate}, payable in ${s.payableYear}${s.budget ? `, budget ${s.budget}` : ''}`);
  return rows;
}
