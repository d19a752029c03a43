use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Districts::Table)
                    .col(string_len(Districts::Code, 6).primary_key())
                    .col(text(Districts::Name))
                    .col(text(Districts::Kind))
                    .col(integer(Districts::SortOrder))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RuleSets::Table)
                    .col(text(RuleSets::Code).primary_key())
                    .col(text(RuleSets::Document))
                    .col(text(RuleSets::Title))
                    .col(date(RuleSets::EffectiveFrom))
                    .col(date_null(RuleSets::EffectiveTo))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PolicyParameters::Table)
                    .col(big_pk_auto(PolicyParameters::Id))
                    .col(text(PolicyParameters::Name))
                    .col(text(PolicyParameters::RuleSet))
                    .col(string_len_null(PolicyParameters::DistrictCode, 6))
                    .col(date(PolicyParameters::ValidFrom))
                    .col(date_null(PolicyParameters::ValidTo))
                    .col(text(PolicyParameters::Value))
                    .col(text(PolicyParameters::Reference))
                    .col(boolean(PolicyParameters::Placeholder))
                    .col(timestamp_with_time_zone(PolicyParameters::CreatedAt))
                    .col(text(PolicyParameters::CreatedBy))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_policy_parameters_rule_set")
                            .from(PolicyParameters::Table, PolicyParameters::RuleSet)
                            .to(RuleSets::Table, RuleSets::Code),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_policy_parameters_district_code")
                            .from(PolicyParameters::Table, PolicyParameters::DistrictCode)
                            .to(Districts::Table, Districts::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_policy_parameters_name_valid_from")
                    .table(PolicyParameters::Table)
                    .col(PolicyParameters::Name)
                    .col(PolicyParameters::ValidFrom)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Enterprises::Table)
                    .col(big_pk_auto(Enterprises::Id))
                    .col(string_len(Enterprises::CreditCode, 18))
                    .col(timestamp_with_time_zone(Enterprises::CreatedAt))
                    .col(text(Enterprises::CreatedBy))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_enterprises_credit_code")
                    .table(Enterprises::Table)
                    .col(Enterprises::CreditCode)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EnterpriseEvents::Table)
                    .col(big_pk_auto(EnterpriseEvents::Id))
                    .col(big_integer(EnterpriseEvents::EnterpriseId))
                    .col(text(EnterpriseEvents::Kind))
                    .col(date(EnterpriseEvents::EffectiveDate))
                    .col(text(EnterpriseEvents::Changes))
                    .col(text_null(EnterpriseEvents::Note))
                    .col(timestamp_with_time_zone(EnterpriseEvents::RecordedAt))
                    .col(text(EnterpriseEvents::RecordedBy))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_enterprise_events_enterprise_id")
                            .from(EnterpriseEvents::Table, EnterpriseEvents::EnterpriseId)
                            .to(Enterprises::Table, Enterprises::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_enterprise_events_enterprise_effective_date")
                    .table(EnterpriseEvents::Table)
                    .col(EnterpriseEvents::EnterpriseId)
                    .col(EnterpriseEvents::EffectiveDate)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EnterpriseFacts::Table)
                    .col(big_pk_auto(EnterpriseFacts::Id))
                    .col(big_integer(EnterpriseFacts::EnterpriseId))
                    .col(date(EnterpriseFacts::ValidFrom))
                    .col(date_null(EnterpriseFacts::ValidTo))
                    .col(text(EnterpriseFacts::Name))
                    .col(string_len_null(EnterpriseFacts::DistrictCode, 6))
                    .col(date_null(EnterpriseFacts::HangzhouSince))
                    .col(string_len(EnterpriseFacts::IndustryCode, 4))
                    .col(text(EnterpriseFacts::Ownership))
                    .col(boolean(EnterpriseFacts::IndustrialGuidance))
                    .col(boolean(EnterpriseFacts::IndependentLegalPerson))
                    .col(boolean(EnterpriseFacts::DeemedLegalPerson))
                    .col(boolean(EnterpriseFacts::Operating))
                    .col(boolean(EnterpriseFacts::UnifiedAccounting))
                    .col(boolean(EnterpriseFacts::RdFacilities))
                    .col(boolean(EnterpriseFacts::RdStableFunding))
                    .col(integer(EnterpriseFacts::OutsideUnits))
                    .col(text_null(EnterpriseFacts::ListingExchange))
                    .col(boolean(EnterpriseFacts::ListedEntityInHangzhou))
                    .col(boolean(EnterpriseFacts::Dishonest))
                    .col(boolean(EnterpriseFacts::OwnsOffice))
                    .col(big_integer_null(EnterpriseFacts::RegisteredCapitalFen))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_enterprise_facts_enterprise_id")
                            .from(EnterpriseFacts::Table, EnterpriseFacts::EnterpriseId)
                            .to(Enterprises::Table, Enterprises::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_enterprise_facts_district_code")
                            .from(EnterpriseFacts::Table, EnterpriseFacts::DistrictCode)
                            .to(Districts::Table, Districts::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_enterprise_facts_enterprise_valid_from")
                    .table(EnterpriseFacts::Table)
                    .col(EnterpriseFacts::EnterpriseId)
                    .col(EnterpriseFacts::ValidFrom)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_enterprise_facts_district_valid_from")
                    .table(EnterpriseFacts::Table)
                    .col(EnterpriseFacts::DistrictCode)
                    .col(EnterpriseFacts::ValidFrom)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EnterpriseFigures::Table)
                    .col(big_pk_auto(EnterpriseFigures::Id))
                    .col(big_integer(EnterpriseFigures::EnterpriseId))
                    .col(integer(EnterpriseFigures::Year))
                    .col(big_integer(EnterpriseFigures::RevenueFen))
                    .col(big_integer(EnterpriseFigures::RdSpendFen))
                    .col(timestamp_with_time_zone(EnterpriseFigures::RecordedAt))
                    .col(text(EnterpriseFigures::RecordedBy))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_enterprise_figures_enterprise_id")
                            .from(EnterpriseFigures::Table, EnterpriseFigures::EnterpriseId)
                            .to(Enterprises::Table, Enterprises::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_enterprise_figures_enterprise_year")
                    .table(EnterpriseFigures::Table)
                    .col(EnterpriseFigures::EnterpriseId)
                    .col(EnterpriseFigures::Year)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Recognitions::Table)
                    .col(big_pk_auto(Recognitions::Id))
                    .col(big_integer(Recognitions::EnterpriseId))
                    .col(integer(Recognitions::Year))
                    .col(date(Recognitions::DecidedOn))
                    .col(text(Recognitions::Route))
                    .col(text(Recognitions::RuleSet))
                    .col(text(Recognitions::Verdict))
                    .col(text(Recognitions::ParameterVersions))
                    .col(boolean(Recognitions::NeedsReview))
                    .col(text(Recognitions::DecidedBy))
                    .col(timestamp_with_time_zone(Recognitions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_recognitions_enterprise_id")
                            .from(Recognitions::Table, Recognitions::EnterpriseId)
                            .to(Enterprises::Table, Enterprises::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_recognitions_rule_set")
                            .from(Recognitions::Table, Recognitions::RuleSet)
                            .to(RuleSets::Table, RuleSets::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_recognitions_enterprise_year")
                    .table(Recognitions::Table)
                    .col(Recognitions::EnterpriseId)
                    .col(Recognitions::Year)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_recognitions_year")
                    .table(Recognitions::Table)
                    .col(Recognitions::Year)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(StarRatings::Table)
                    .col(big_pk_auto(StarRatings::Id))
                    .col(big_integer(StarRatings::EnterpriseId))
                    .col(big_integer(StarRatings::RecognitionId))
                    .col(integer(StarRatings::Year))
                    .col(integer(StarRatings::Stars))
                    .col(text(StarRatings::RatedBy))
                    .col(timestamp_with_time_zone(StarRatings::RatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_star_ratings_enterprise_id")
                            .from(StarRatings::Table, StarRatings::EnterpriseId)
                            .to(Enterprises::Table, Enterprises::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_star_ratings_recognition_id")
                            .from(StarRatings::Table, StarRatings::RecognitionId)
                            .to(Recognitions::Table, Recognitions::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_star_ratings_enterprise_year")
                    .table(StarRatings::Table)
                    .col(StarRatings::EnterpriseId)
                    .col(StarRatings::Year)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_star_ratings_year")
                    .table(StarRatings::Table)
                    .col(StarRatings::Year)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(StarRewards::Table)
                    .col(big_pk_auto(StarRewards::Id))
                    .col(big_integer(StarRewards::EnterpriseId))
                    .col(big_integer(StarRewards::StarRatingId))
                    .col(integer(StarRewards::Year))
                    .col(integer(StarRewards::Stars))
                    .col(big_integer(StarRewards::TierFen))
                    .col(big_integer(StarRewards::PreviouslyGrantedFen))
                    .col(big_integer(StarRewards::AmountFen))
                    .col(big_integer(StarRewards::CityShareFen))
                    .col(big_integer(StarRewards::DistrictShareFen))
                    .col(string_len_null(StarRewards::DistrictCode, 6))
                    .col(date(StarRewards::GrantedOn))
                    .col(text(StarRewards::ParameterVersions))
                    .col(text(StarRewards::GrantedBy))
                    .col(timestamp_with_time_zone(StarRewards::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_star_rewards_enterprise_id")
                            .from(StarRewards::Table, StarRewards::EnterpriseId)
                            .to(Enterprises::Table, Enterprises::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_star_rewards_star_rating_id")
                            .from(StarRewards::Table, StarRewards::StarRatingId)
                            .to(StarRatings::Table, StarRatings::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_star_rewards_district_code")
                            .from(StarRewards::Table, StarRewards::DistrictCode)
                            .to(Districts::Table, Districts::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_star_rewards_enterprise_year")
                    .table(StarRewards::Table)
                    .col(StarRewards::EnterpriseId)
                    .col(StarRewards::Year)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Revocations::Table)
                    .col(big_pk_auto(Revocations::Id))
                    .col(big_integer(Revocations::EnterpriseId))
                    .col(date(Revocations::RevokedOn))
                    .col(date(Revocations::BanUntil))
                    .col(text(Revocations::Reason))
                    .col(text(Revocations::ApprovalRef))
                    .col(text(Revocations::RecordedBy))
                    .col(timestamp_with_time_zone(Revocations::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_revocations_enterprise_id")
                            .from(Revocations::Table, Revocations::EnterpriseId)
                            .to(Enterprises::Table, Enterprises::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_revocations_enterprise_revoked_on")
                    .table(Revocations::Table)
                    .col(Revocations::EnterpriseId)
                    .col(Revocations::RevokedOn)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Children first: the foreign keys point backwards in creation order.
        manager
            .drop_table(Table::drop().table(Revocations::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(StarRewards::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(StarRatings::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Recognitions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(EnterpriseFigures::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(EnterpriseFacts::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(EnterpriseEvents::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Enterprises::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(PolicyParameters::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(RuleSets::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Districts::Table).to_owned())
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Districts {
    Table,
    Code,
    Name,
    Kind,
    SortOrder,
}

#[derive(DeriveIden)]
enum RuleSets {
    Table,
    Code,
    Document,
    Title,
    EffectiveFrom,
    EffectiveTo,
}

#[derive(DeriveIden)]
enum PolicyParameters {
    Table,
    Id,
    Name,
    RuleSet,
    DistrictCode,
    ValidFrom,
    ValidTo,
    Value,
    Reference,
    Placeholder,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum Enterprises {
    Table,
    Id,
    CreditCode,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum EnterpriseEvents {
    Table,
    Id,
    EnterpriseId,
    Kind,
    EffectiveDate,
    Changes,
    Note,
    RecordedAt,
    RecordedBy,
}

#[derive(DeriveIden)]
enum EnterpriseFacts {
    Table,
    Id,
    EnterpriseId,
    ValidFrom,
    ValidTo,
    Name,
    DistrictCode,
    HangzhouSince,
    IndustryCode,
    Ownership,
    IndustrialGuidance,
    IndependentLegalPerson,
    DeemedLegalPerson,
    Operating,
    UnifiedAccounting,
    RdFacilities,
    RdStableFunding,
    OutsideUnits,
    ListingExchange,
    ListedEntityInHangzhou,
    Dishonest,
    OwnsOffice,
    RegisteredCapitalFen,
}

#[derive(DeriveIden)]
enum EnterpriseFigures {
    Table,
    Id,
    EnterpriseId,
    Year,
    RevenueFen,
    RdSpendFen,
    RecordedAt,
    RecordedBy,
}

#[derive(DeriveIden)]
enum Recognitions {
    Table,
    Id,
    EnterpriseId,
    Year,
    DecidedOn,
    Route,
    RuleSet,
    Verdict,
    ParameterVersions,
    NeedsReview,
    DecidedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum StarRatings {
    Table,
    Id,
    EnterpriseId,
    RecognitionId,
    Year,
    Stars,
    RatedBy,
    RatedAt,
}

#[derive(DeriveIden)]
enum StarRewards {
    Table,
    Id,
    EnterpriseId,
    StarRatingId,
    Year,
    Stars,
    TierFen,
    PreviouslyGrantedFen,
    AmountFen,
    CityShareFen,
    DistrictShareFen,
    DistrictCode,
    GrantedOn,
    ParameterVersions,
    GrantedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Revocations {
    Table,
    Id,
    EnterpriseId,
    RevokedOn,
    BanUntil,
    Reason,
    ApprovalRef,
    RecordedBy,
    CreatedAt,
}
