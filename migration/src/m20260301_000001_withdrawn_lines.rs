//! Withdrawn payment lines: a district withdraws its own unsubmitted line by moving it, whole,
//! out of `payment_lines` into `withdrawn_payment_lines` with when, who and why. Every reader of
//! `payment_lines` (claims, their hashes, reconciliation, settlement, exports, reports) then
//! leaves it out without a filter to forget, and the voucher is free to be reported again.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WithdrawnPaymentLines::Table)
                    // The line's own id, kept: not generated here.
                    .col(big_integer(WithdrawnPaymentLines::Id).primary_key())
                    .col(big_integer(WithdrawnPaymentLines::Seq))
                    .col(string_len(WithdrawnPaymentLines::DistrictCode, 6))
                    .col(integer(WithdrawnPaymentLines::FiscalYear))
                    .col(big_integer(WithdrawnPaymentLines::EnterpriseId))
                    .col(string_len(WithdrawnPaymentLines::CreditCode, 18))
                    .col(text(WithdrawnPaymentLines::Kind))
                    .col(integer(WithdrawnPaymentLines::SubsidyYear))
                    .col(text(WithdrawnPaymentLines::ContractNo))
                    .col(big_integer(WithdrawnPaymentLines::BasisFen))
                    .col(date_null(WithdrawnPaymentLines::TransactionDate))
                    .col(big_integer(WithdrawnPaymentLines::AmountFen))
                    .col(date(WithdrawnPaymentLines::PaymentDate))
                    .col(text(WithdrawnPaymentLines::VoucherNo))
                    .col(timestamp_with_time_zone(WithdrawnPaymentLines::ReportedAt))
                    .col(text(WithdrawnPaymentLines::ReportedBy))
                    .col(timestamp_with_time_zone(WithdrawnPaymentLines::WithdrawnAt))
                    .col(text(WithdrawnPaymentLines::WithdrawnBy))
                    .col(text(WithdrawnPaymentLines::Reason))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_withdrawn_payment_lines_district_code")
                            .from(
                                WithdrawnPaymentLines::Table,
                                WithdrawnPaymentLines::DistrictCode,
                            )
                            .to(Districts::Table, Districts::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_withdrawn_payment_lines_district_year")
                    .table(WithdrawnPaymentLines::Table)
                    .col(WithdrawnPaymentLines::DistrictCode)
                    .col(WithdrawnPaymentLines::FiscalYear)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WithdrawnPaymentLines::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum WithdrawnPaymentLines {
    Table,
    Id,
    Seq,
    DistrictCode,
    FiscalYear,
    EnterpriseId,
    CreditCode,
    Kind,
    SubsidyYear,
    ContractNo,
    BasisFen,
    TransactionDate,
    AmountFen,
    PaymentDate,
    VoucherNo,
    ReportedAt,
    ReportedBy,
    WithdrawnAt,
    WithdrawnBy,
    Reason,
}

#[derive(DeriveIden)]
enum Districts {
    Table,
    Code,
}
