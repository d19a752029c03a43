use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PaymentLines::Table)
                    .col(big_pk_auto(PaymentLines::Id))
                    .col(big_integer(PaymentLines::Seq))
                    .col(string_len(PaymentLines::DistrictCode, 6))
                    .col(integer(PaymentLines::FiscalYear))
                    .col(big_integer(PaymentLines::EnterpriseId))
                    .col(string_len(PaymentLines::CreditCode, 18))
                    .col(text(PaymentLines::Kind))
                    .col(integer(PaymentLines::SubsidyYear))
                    .col(text(PaymentLines::ContractNo))
                    .col(big_integer(PaymentLines::BasisFen))
                    .col(date_null(PaymentLines::TransactionDate))
                    .col(big_integer(PaymentLines::AmountFen))
                    .col(date(PaymentLines::PaymentDate))
                    .col(text(PaymentLines::VoucherNo))
                    .col(timestamp_with_time_zone(PaymentLines::ReportedAt))
                    .col(text(PaymentLines::ReportedBy))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payment_lines_district_code")
                            .from(PaymentLines::Table, PaymentLines::DistrictCode)
                            .to(Districts::Table, Districts::Code),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_payment_lines_enterprise_id")
                            .from(PaymentLines::Table, PaymentLines::EnterpriseId)
                            .to(Enterprises::Table, Enterprises::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_payment_lines_seq")
                    .table(PaymentLines::Table)
                    .col(PaymentLines::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_payment_lines_district_voucher")
                    .table(PaymentLines::Table)
                    .col(PaymentLines::DistrictCode)
                    .col(PaymentLines::VoucherNo)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_payment_lines_district_year")
                    .table(PaymentLines::Table)
                    .col(PaymentLines::DistrictCode)
                    .col(PaymentLines::FiscalYear)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_payment_lines_enterprise_kind")
                    .table(PaymentLines::Table)
                    .col(PaymentLines::EnterpriseId)
                    .col(PaymentLines::Kind)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Claims::Table)
                    .col(big_pk_auto(Claims::Id))
                    .col(string_len(Claims::DistrictCode, 6))
                    .col(integer(Claims::FiscalYear))
                    .col(text(Claims::Status))
                    .col(text_null(Claims::ContentHash))
                    .col(integer(Claims::LineCount))
                    .col(big_integer(Claims::PaidTotalFen))
                    .col(timestamp_with_time_zone_null(Claims::SubmittedAt))
                    .col(text_null(Claims::SubmittedBy))
                    .col(timestamp_with_time_zone(Claims::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_claims_district_code")
                            .from(Claims::Table, Claims::DistrictCode)
                            .to(Districts::Table, Districts::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_claims_district_year")
                    .table(Claims::Table)
                    .col(Claims::DistrictCode)
                    .col(Claims::FiscalYear)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ClaimEvents::Table)
                    .col(big_pk_auto(ClaimEvents::Id))
                    .col(big_integer(ClaimEvents::ClaimId))
                    .col(text(ClaimEvents::Action))
                    .col(text_null(ClaimEvents::Reason))
                    .col(text_null(ClaimEvents::ContentHash))
                    .col(text(ClaimEvents::Actor))
                    .col(timestamp_with_time_zone(ClaimEvents::At))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_claim_events_claim_id")
                            .from(ClaimEvents::Table, ClaimEvents::ClaimId)
                            .to(Claims::Table, Claims::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_claim_events_claim")
                    .table(ClaimEvents::Table)
                    .col(ClaimEvents::ClaimId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LineVerdicts::Table)
                    .col(big_pk_auto(LineVerdicts::Id))
                    .col(big_integer(LineVerdicts::LineId))
                    .col(big_integer(LineVerdicts::ClaimId))
                    .col(big_integer(LineVerdicts::EligibleFen))
                    .col(big_integer(LineVerdicts::CutFen))
                    .col(text(LineVerdicts::Reasons))
                    .col(text_null(LineVerdicts::PrimaryReason))
                    .col(text_null(LineVerdicts::RatioGroup))
                    .col(big_integer_null(LineVerdicts::GroupLimitFen))
                    .col(text(LineVerdicts::ParameterVersions))
                    .col(timestamp_with_time_zone(LineVerdicts::DecidedAt))
                    .col(text(LineVerdicts::DecidedBy))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_line_verdicts_line_id")
                            .from(LineVerdicts::Table, LineVerdicts::LineId)
                            .to(PaymentLines::Table, PaymentLines::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_line_verdicts_claim_id")
                            .from(LineVerdicts::Table, LineVerdicts::ClaimId)
                            .to(Claims::Table, Claims::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_line_verdicts_line")
                    .table(LineVerdicts::Table)
                    .col(LineVerdicts::LineId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_line_verdicts_claim")
                    .table(LineVerdicts::Table)
                    .col(LineVerdicts::ClaimId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Settlements::Table)
                    .col(big_pk_auto(Settlements::Id))
                    .col(integer(Settlements::FiscalYear))
                    .col(text(Settlements::Status))
                    .col(text(Settlements::Rate))
                    .col(big_integer_null(Settlements::BudgetFen))
                    .col(big_integer(Settlements::ReportedFen))
                    .col(big_integer(Settlements::EligibleFen))
                    .col(big_integer(Settlements::CutFen))
                    .col(big_integer(Settlements::ReimbursementFen))
                    .col(big_integer(Settlements::GrantedFen))
                    .col(big_integer(Settlements::AdjustmentsFen))
                    .col(big_integer(Settlements::NetPayableFen))
                    .col(text(Settlements::ParameterVersions))
                    .col(timestamp_with_time_zone(Settlements::DraftedAt))
                    .col(text(Settlements::DraftedBy))
                    .col(timestamp_with_time_zone_null(Settlements::ApprovedAt))
                    .col(text_null(Settlements::ApprovedBy))
                    .col(integer(Settlements::LockVersion))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_settlements_year")
                    .table(Settlements::Table)
                    .col(Settlements::FiscalYear)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SettlementLines::Table)
                    .col(big_pk_auto(SettlementLines::Id))
                    .col(big_integer(SettlementLines::SettlementId))
                    .col(string_len(SettlementLines::DistrictCode, 6))
                    .col(big_integer(SettlementLines::ReportedFen))
                    .col(big_integer(SettlementLines::EligibleFen))
                    .col(big_integer(SettlementLines::CutFen))
                    .col(text(SettlementLines::CutByReason))
                    .col(big_integer(SettlementLines::ReimbursementFen))
                    .col(big_integer(SettlementLines::GrantedFen))
                    .col(big_integer(SettlementLines::AdjustmentsFen))
                    .col(big_integer(SettlementLines::NetPayableFen))
                    .col(text_null(SettlementLines::ZeroReason))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_settlement_lines_settlement_id")
                            .from(SettlementLines::Table, SettlementLines::SettlementId)
                            .to(Settlements::Table, Settlements::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_settlement_lines_district_code")
                            .from(SettlementLines::Table, SettlementLines::DistrictCode)
                            .to(Districts::Table, Districts::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_settlement_lines_settlement_district")
                    .table(SettlementLines::Table)
                    .col(SettlementLines::SettlementId)
                    .col(SettlementLines::DistrictCode)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Findings::Table)
                    .col(big_pk_auto(Findings::Id))
                    .col(text(Findings::Kind))
                    .col(big_integer_null(Findings::RevocationId))
                    .col(text(Findings::Reason))
                    .col(timestamp_with_time_zone(Findings::RecordedAt))
                    .col(text(Findings::RecordedBy))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_findings_revocation_id")
                            .from(Findings::Table, Findings::RevocationId)
                            .to(Revocations::Table, Revocations::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(FindingLines::Table)
                    .col(big_pk_auto(FindingLines::Id))
                    .col(big_integer(FindingLines::FindingId))
                    .col(big_integer(FindingLines::LineId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_finding_lines_finding_id")
                            .from(FindingLines::Table, FindingLines::FindingId)
                            .to(Findings::Table, Findings::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_finding_lines_line_id")
                            .from(FindingLines::Table, FindingLines::LineId)
                            .to(PaymentLines::Table, PaymentLines::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_finding_lines_finding_line")
                    .table(FindingLines::Table)
                    .col(FindingLines::FindingId)
                    .col(FindingLines::LineId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Adjustments::Table)
                    .col(big_pk_auto(Adjustments::Id))
                    .col(big_integer(Adjustments::FindingId))
                    .col(string_len(Adjustments::DistrictCode, 6))
                    .col(big_integer(Adjustments::OriginalSettlementId))
                    .col(integer(Adjustments::OriginalYear))
                    .col(integer(Adjustments::TargetYear))
                    .col(big_integer(Adjustments::AmountFen))
                    .col(big_integer(Adjustments::FoundEligibleFen))
                    .col(big_integer(Adjustments::DistrictEligibleFen))
                    .col(big_integer(Adjustments::DistrictGrantedFen))
                    .col(text(Adjustments::Reason))
                    .col(timestamp_with_time_zone(Adjustments::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_adjustments_finding_id")
                            .from(Adjustments::Table, Adjustments::FindingId)
                            .to(Findings::Table, Findings::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_adjustments_district_code")
                            .from(Adjustments::Table, Adjustments::DistrictCode)
                            .to(Districts::Table, Districts::Code),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_adjustments_original_settlement_id")
                            .from(Adjustments::Table, Adjustments::OriginalSettlementId)
                            .to(Settlements::Table, Settlements::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_adjustments_target_year_district")
                    .table(Adjustments::Table)
                    .col(Adjustments::TargetYear)
                    .col(Adjustments::DistrictCode)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Children first: the foreign keys point backwards in creation order.
        manager
            .drop_table(Table::drop().table(Adjustments::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(FindingLines::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Findings::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SettlementLines::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Settlements::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(LineVerdicts::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ClaimEvents::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Claims::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(PaymentLines::Table).to_owned())
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum PaymentLines {
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
}

#[derive(DeriveIden)]
enum Claims {
    Table,
    Id,
    DistrictCode,
    FiscalYear,
    Status,
    ContentHash,
    LineCount,
    PaidTotalFen,
    SubmittedAt,
    SubmittedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ClaimEvents {
    Table,
    Id,
    ClaimId,
    Action,
    Reason,
    ContentHash,
    Actor,
    At,
}

#[derive(DeriveIden)]
enum LineVerdicts {
    Table,
    Id,
    LineId,
    ClaimId,
    EligibleFen,
    CutFen,
    Reasons,
    PrimaryReason,
    RatioGroup,
    GroupLimitFen,
    ParameterVersions,
    DecidedAt,
    DecidedBy,
}

#[derive(DeriveIden)]
enum Settlements {
    Table,
    Id,
    FiscalYear,
    Status,
    Rate,
    BudgetFen,
    ReportedFen,
    EligibleFen,
    CutFen,
    ReimbursementFen,
    GrantedFen,
    AdjustmentsFen,
    NetPayableFen,
    ParameterVersions,
    DraftedAt,
    DraftedBy,
    ApprovedAt,
    ApprovedBy,
    LockVersion,
}

#[derive(DeriveIden)]
enum SettlementLines {
    Table,
    Id,
    SettlementId,
    DistrictCode,
    ReportedFen,
    EligibleFen,
    CutFen,
    CutByReason,
    ReimbursementFen,
    GrantedFen,
    AdjustmentsFen,
    NetPayableFen,
    ZeroReason,
}

#[derive(DeriveIden)]
enum Findings {
    Table,
    Id,
    Kind,
    RevocationId,
    Reason,
    RecordedAt,
    RecordedBy,
}

#[derive(DeriveIden)]
enum FindingLines {
    Table,
    Id,
    FindingId,
    LineId,
}

#[derive(DeriveIden)]
enum Adjustments {
    Table,
    Id,
    FindingId,
    DistrictCode,
    OriginalSettlementId,
    OriginalYear,
    TargetYear,
    AmountFen,
    FoundEligibleFen,
    DistrictEligibleFen,
    DistrictGrantedFen,
    Reason,
    CreatedAt,
}

/// Created by an earlier migration; only the columns referenced here.
#[derive(DeriveIden)]
enum Districts {
    Table,
    Code,
}

/// Created by an earlier migration; only the columns referenced here.
#[derive(DeriveIden)]
enum Enterprises {
    Table,
    Id,
}

/// Created by an earlier migration; only the columns referenced here.
#[derive(DeriveIden)]
enum Revocations {
    Table,
    Id,
}
