//! Rule sets chosen by date: the recognition rules each rule set applies (`rule_set_rules`), the
//! rule set an amendment amends (`rule_sets.supersedes`) and who registered it when.
//!
//! The rules in force of the rule sets already stored (only 杭政办〔2023〕3号 can exist before
//! this migration, and it applies every rule of the table as it stood then) are filled in here,
//! so an existing database decides as before the moment it is migrated. That is a backfill of
//! rows that exist, not seed data: on a fresh database `rule_sets` is empty here and the
//! service's seed writes the rule set and its rules. The list is the rule table as of this
//! migration, frozen like the rest of it: a rule added by a later release is in force only in a
//! rule set that adds it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The recognition rules of 杭政办〔2023〕3号 as of this migration, in table order.
const RULES_2023: [&str; 17] = [
    "NOT_BANNED",
    "INDUSTRIAL_GUIDANCE",
    "LEGAL_PERSON",
    "REGISTERED_IN_HANGZHOU",
    "OPERATING",
    "UNIFIED_ACCOUNTING",
    "OUTSIDE_UNITS",
    "NOT_DISHONEST",
    "INDUSTRY_NOT_EXCLUDED",
    "NOT_EXCLUDED_SOE",
    "REVENUE_THRESHOLD",
    "RD_FACILITIES",
    "RD_STABLE_FUNDING",
    "RD_MIN_SPEND",
    "RD_MIN_RATIO",
    "LISTED_ON_ACCEPTED_EXCHANGE",
    "LISTED_ENTITY_IN_HANGZHOU",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RuleSetRules::Table)
                    .col(text(RuleSetRules::RuleSet))
                    .col(text(RuleSetRules::Rule))
                    .primary_key(
                        Index::create()
                            .name("pk_rule_set_rules")
                            .col(RuleSetRules::RuleSet)
                            .col(RuleSetRules::Rule),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_rule_set_rules_rule_set")
                            .from(RuleSetRules::Table, RuleSetRules::RuleSet)
                            .to(RuleSets::Table, RuleSets::Code),
                    )
                    .to_owned(),
            )
            .await?;
        // One column per statement: SQLite alters one thing at a time. Nullable: the rule set
        // shipped with the service amends nothing and was registered by no one.
        for column in [
            text_null(RuleSets::Supersedes),
            text_null(RuleSets::RegisteredBy),
            timestamp_with_time_zone_null(RuleSets::RegisteredAt),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(RuleSets::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        for rule in RULES_2023 {
            let backfill = Query::insert()
                .into_table(RuleSetRules::Table)
                .columns([RuleSetRules::RuleSet, RuleSetRules::Rule])
                .select_from(
                    Query::select()
                        .column(RuleSets::Code)
                        .expr(Expr::val(rule))
                        .from(RuleSets::Table)
                        .to_owned(),
                )
                .map_err(|e| DbErr::Migration(e.to_string()))?
                .to_owned();
            manager.exec_stmt(backfill).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RuleSetRules::Table).to_owned())
            .await?;
        for column in [
            RuleSets::RegisteredAt,
            RuleSets::RegisteredBy,
            RuleSets::Supersedes,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(RuleSets::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum RuleSetRules {
    Table,
    RuleSet,
    Rule,
}

#[derive(DeriveIden)]
enum RuleSets {
    Table,
    Code,
    Supersedes,
    RegisteredBy,
    RegisteredAt,
}
