use std::collections::BTreeMap;

use super::*;
use crate::params::{ParamValue, ParameterVersion};
use crate::reconciliation::{DateRange, Registration};

const ENTERPRISE: i64 = 7;
const DISTRICT: &str = "330106";

fn date(s: &str) -> NaiveDate {
    s.parse().expect("test date")
}

fn yuan(s: &str) -> Money {
    s.parse().expect("test amount")
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).expect("test decimal")
}

/// Recognised for 2024 on 2024-04-01, rated `stars`, registered in 330106 since 2020, no office.
fn context(stars: Option<u8>) -> EnterpriseContext {
    EnterpriseContext {
        enterprise_id: ENTERPRISE,
        recognitions: BTreeMap::from([(2024, date("2024-04-01"))]),
        stars: stars
            .map(|n| BTreeMap::from([(2024, n)]))
            .unwrap_or_default(),
        offices: Vec::new(),
        registrations: vec![Registration {
            during: DateRange {
                from: date("2020-01-01"),
                to: None,
            },
            district: Some(DISTRICT.to_owned()),
        }],
        revocations: Vec::new(),
    }
}

fn line(id: i64, kind: PaymentKind, year: i32, eligible: Option<&str>) -> ReportedLine {
    ReportedLine {
        line: PaymentLine {
            id,
            seq: id,
            district: DISTRICT.to_owned(),
            enterprise_id: ENTERPRISE,
            kind,
            subsidy_year: year,
            contract_no: format!("C-{id}"),
            basis: yuan("1000000.00"),
            transaction_date: (kind == PaymentKind::Purchase)
                .then(|| NaiveDate::from_ymd_opt(year, 6, 1).expect("date")),
            amount: yuan("100000.00"),
            payment_date: NaiveDate::from_ymd_opt(year, 7, 1).expect("date"),
            voucher_no: format!("V-{id}"),
        },
        eligible: eligible.map(yuan),
    }
}

fn benefits_with(
    context: &EnterpriseContext,
    rewards: &[GrantedReward],
    lines: &[ReportedLine],
    today: &str,
    params: &ParameterSet,
) -> Result<Benefits, PolicyError> {
    decide_benefits(
        &BenefitsInput {
            year: 2024,
            today: date(today),
            context,
            rewards,
            lines,
            totals_of_district: None,
        },
        params,
    )
}

fn benefits(context: &EnterpriseContext, lines: &[ReportedLine]) -> Benefits {
    benefits_with(
        context,
        &[],
        lines,
        "2024-09-01",
        &ParameterSet::shipped_defaults(),
    )
    .expect("complete parameters")
}

fn codes(notes: &[BenefitNote]) -> Vec<BenefitReason> {
    notes.iter().map(|n| n.code).collect()
}

fn version(id: i64, name: &str, district: Option<&str>, value: ParamValue) -> ParameterVersion {
    ParameterVersion {
        id,
        name: name.to_owned(),
        district: district.map(str::to_owned),
        valid_from: date("2023-01-01"),
        valid_to: None,
        value,
        reference: "test".to_owned(),
        placeholder: false,
    }
}

#[test]
fn every_benefit_reason_round_trips_and_has_a_description() {
    crate::code::testing::assert_codes_round_trip(&BenefitReason::ALL, BenefitReason::as_str);
    crate::code::testing::assert_codes_round_trip(&RewardState::ALL, RewardState::as_str);
    for reason in BenefitReason::ALL {
        assert!(!reason.description().is_empty(), "{reason}");
    }
}

#[test]
fn three_stars_is_the_first_rating_with_a_reward_and_office_subsidies() {
    // (stars, reward due, reward note, rent open)
    let cases = [
        (1, Money::ZERO, Some(BenefitReason::StarsBelow3), false),
        (2, Money::ZERO, Some(BenefitReason::StarsBelow3), false),
        (3, yuan("3000000.00"), None, true),
        (4, yuan("5000000.00"), None, true),
        (5, yuan("10000000.00"), None, true),
    ];
    for (stars, due, reward_note, open) in cases {
        let b = benefits(&context(Some(stars)), &[]);
        assert_eq!(b.star_reward.due, due, "{stars}★");
        assert_eq!(
            b.star_reward.note.as_ref().map(|n| n.code),
            reward_note,
            "{stars}★"
        );
        assert_eq!(b.rent.open, open, "{stars}★");
        assert_eq!(b.purchase.open, open, "{stars}★");
        if !open {
            assert_eq!(codes(&b.rent.notes), [BenefitReason::StarsBelow3]);
            assert_eq!(b.rent.notes[0].clause, Clause::S7);
            assert_eq!(
                b.star_reward.note.as_ref().map(|n| n.clause),
                Some(Clause::S6)
            );
        }
        // §8, §10, §12 are reported at every star count.
        assert!(b.talent_quota.value.is_some(), "{stars}★");
    }
}

#[test]
fn a_due_reward_splits_between_city_and_district() {
    let b = benefits(&context(Some(3)), &[]);
    assert_eq!(b.star_reward.state, RewardState::Due);
    assert_eq!(b.star_reward.tier, yuan("3000000.00"));
    assert_eq!(b.star_reward.split.city, yuan("1500000.00"));
    assert_eq!(b.star_reward.split.district, yuan("1500000.00"));
}

#[test]
fn the_by_star_parameters_are_those_of_the_stars() {
    let cases = [
        // (stars, uplift, talent quota)
        (1, "0.00", 2),
        (2, "0.05", 3),
        (3, "0.10", 5),
        (4, "0.15", 8),
        (5, "0.20", 12),
    ];
    for (stars, uplift, talent) in cases {
        let b = benefits(&context(Some(stars)), &[]);
        assert_eq!(b.rd_uplift.value, Some(dec(uplift)), "{stars}★");
        assert_eq!(b.talent_quota.value, Some(talent), "{stars}★");
        assert_eq!(b.vehicle_quota.value, Some(0), "{stars}★");
        assert_eq!(
            b.talent_quota.parameter.as_deref(),
            Some(format!("talent_quota.{stars}").as_str())
        );
    }
}

#[test]
fn not_recognised_or_not_rated_gives_nothing_and_says_why() {
    let mut unrecognised = context(None);
    unrecognised.recognitions.clear();
    let cases = [
        (unrecognised, BenefitReason::NotRecognized),
        (context(None), BenefitReason::NotRated),
    ];
    for (context, reason) in cases {
        let b = benefits(&context, &[]);
        assert_eq!(b.star_reward.state, RewardState::NothingDue);
        assert_eq!(b.star_reward.note.as_ref().map(|n| n.code), Some(reason));
        assert_eq!(codes(&b.rent.notes), [reason]);
        assert_eq!(codes(&b.purchase.notes), [reason]);
        assert_eq!(b.talent_quota.value, None);
        assert_eq!(b.talent_quota.note.as_ref().map(|n| n.code), Some(reason));
        assert_eq!(
            b.talent_quota.note.as_ref().map(|n| n.clause),
            Some(Clause::S10)
        );
        // The ratio and cap are still shown: they are the district's, not the enterprise's.
        assert_eq!(b.rent.ratio, dec("0.30"));
    }
}

#[test]
fn a_revocation_on_or_before_today_after_the_decision_ends_the_benefits() {
    // today is 2024-09-01, the recognition was decided on 2024-04-01.
    let cases = [
        // (revoked on, benefits stand)
        ("2024-04-01", true),
        ("2024-04-02", false),
        ("2024-09-01", false),
        ("2024-09-02", true),
    ];
    for (revoked_on, stand) in cases {
        let mut context = context(Some(4));
        context.revocations = vec![date(revoked_on)];
        let b = benefits(&context, &[]);
        assert_eq!(b.rent.open, stand, "{revoked_on}");
        assert_eq!(!b.star_reward.due.is_zero(), stand, "{revoked_on}");
        assert_eq!(b.revoked_on.is_none(), stand, "{revoked_on}");
        if !stand {
            assert_eq!(
                b.star_reward.note.as_ref().map(|n| n.code),
                Some(BenefitReason::TitleRevoked)
            );
            assert_eq!(codes(&b.rent.notes), [BenefitReason::TitleRevoked]);
            assert_eq!(b.rd_uplift.value, None);
        }
    }
}

#[test]
fn a_reward_granted_before_a_revocation_stays_granted() {
    let mut context = context(Some(3));
    context.revocations = vec![date("2024-08-01")];
    let granted = GrantedReward {
        year: 2024,
        tier: yuan("3000000.00"),
        previously_granted: Money::ZERO,
        amount: yuan("3000000.00"),
        city_share: yuan("1500000.00"),
        district_share: yuan("1500000.00"),
        granted_on: date("2024-06-01"),
        parameter_versions: vec![14, 17],
    };
    let b = benefits_with(
        &context,
        &[granted],
        &[],
        "2024-09-01",
        &ParameterSet::shipped_defaults(),
    )
    .expect("complete");
    assert_eq!(b.star_reward.state, RewardState::Granted);
    assert_eq!(b.star_reward.due, yuan("3000000.00"));
    assert_eq!(b.star_reward.granted_so_far, yuan("3000000.00"));
    assert_eq!(b.star_reward.granted_on, Some(date("2024-06-01")));
    assert!(b.parameter_versions.contains(&14));
    assert!(!b.rent.open);
}

#[test]
fn the_difference_rule_counts_every_reward_granted_so_far() {
    let earlier = |amount: &str| GrantedReward {
        year: 2023,
        tier: yuan(amount),
        previously_granted: Money::ZERO,
        amount: yuan(amount),
        city_share: Money::ZERO,
        district_share: yuan(amount),
        granted_on: date("2023-09-01"),
        parameter_versions: Vec::new(),
    };
    let cases = [
        // (stars of 2024, granted for 2023, due, note)
        (4, "3000000.00", yuan("2000000.00"), None),
        (
            3,
            "5000000.00",
            Money::ZERO,
            Some(BenefitReason::TierAlreadyPaid),
        ),
        (
            4,
            "5000000.00",
            Money::ZERO,
            Some(BenefitReason::TierAlreadyPaid),
        ),
    ];
    for (stars, granted, due, reason) in cases {
        let b = benefits_with(
            &context(Some(stars)),
            &[earlier(granted)],
            &[],
            "2024-09-01",
            &ParameterSet::shipped_defaults(),
        )
        .expect("complete");
        assert_eq!(b.star_reward.due, due, "{stars}★ after {granted}");
        assert_eq!(b.star_reward.granted_so_far, yuan(granted));
        assert_eq!(b.star_reward.note.as_ref().map(|n| n.code), reason);
    }
}

#[test]
fn owning_office_premises_shuts_both_subsidies() {
    let cases = [
        // (owned during, rent open, purchase open) — evaluated on 2024-09-01
        (("2023-01-01", Some("2023-12-31")), true, true),
        (("2023-01-01", Some("2024-01-01")), false, true),
        (("2024-12-31", None), false, true),
        (("2024-09-01", None), false, false),
        (("2020-01-01", None), false, false),
    ];
    for ((from, to), rent, purchase) in cases {
        let mut context = context(Some(3));
        context.offices = vec![DateRange {
            from: date(from),
            to: to.map(date),
        }];
        let b = benefits(&context, &[]);
        assert_eq!(b.rent.open, rent, "{from}..{to:?}");
        assert_eq!(b.purchase.open, purchase, "{from}..{to:?}");
        if !rent {
            assert_eq!(codes(&b.rent.notes), [BenefitReason::OwnsOffice]);
        }
    }
}

#[test]
fn for_a_purchase_the_office_counts_on_the_day_before_its_transaction() {
    // The purchase of 2024 (transaction 2024-06-01) made it an owner from that day.
    let mut context = context(Some(3));
    context.offices = vec![DateRange {
        from: date("2024-06-01"),
        to: None,
    }];
    let lines = [line(1, PaymentKind::Purchase, 2024, Some("50000.00"))];
    let b = benefits(&context, &lines);
    assert!(b.purchase.open, "{:?}", b.purchase.notes);
    assert_eq!(b.purchase.paid, yuan("100000.00"));
    assert_eq!(b.purchase.eligible, yuan("50000.00"));
    assert_eq!(b.purchase.parameters_on, date("2024-06-01"));
    // Owning already on 2024-05-31 shuts it.
    context.offices[0].from = date("2024-05-31");
    let b = benefits(&context, &lines);
    assert_eq!(codes(&b.purchase.notes), [BenefitReason::OwnsOffice]);
}

#[test]
fn never_both_follows_the_rent_and_purchase_rule() {
    use PaymentKind::{Purchase, Rent};
    type Case = (&'static [(PaymentKind, i32)], bool, bool);
    let cases: [Case; 8] = [
        // (reported lines (kind, subsidy year), rent 2024 open, purchase 2024 open)
        (&[], true, true),
        // Rent paid for 2024 → no purchase for 2024.
        (&[(Rent, 2024)], true, false),
        // Rent paid for 2025 → a purchase for 2024 would cut it.
        (&[(Rent, 2025)], true, false),
        // Rent paid for 2023 only: switching to a purchase in 2024 is allowed.
        (&[(Rent, 2023)], true, true),
        // A purchase for 2024 or earlier shuts rent for 2024.
        (&[(Purchase, 2024)], false, true),
        (&[(Purchase, 2023)], false, false),
        // A purchase for 2025 does not shut rent for 2024.
        (&[(Purchase, 2025)], true, true),
        // A rent cut by the purchase of the same year does not shut that purchase.
        (&[(Rent, 2024), (Purchase, 2024)], false, true),
    ];
    for (reported, rent_open, purchase_open) in cases {
        let lines: Vec<ReportedLine> = reported
            .iter()
            .zip(1..)
            .map(|(&(kind, year), id)| line(id, kind, year, None))
            .collect();
        let b = benefits(&context(Some(3)), &lines);
        assert_eq!(b.rent.open, rent_open, "{reported:?}: {:?}", b.rent.notes);
        assert_eq!(
            b.purchase.open, purchase_open,
            "{reported:?}: {:?}",
            b.purchase.notes
        );
        if !rent_open {
            assert_eq!(codes(&b.rent.notes), [BenefitReason::RentAndPurchase]);
        }
    }
}

#[test]
fn the_never_both_rule_is_the_reconciliations() {
    // The benefits read the one predicate the reconciliation's RENT_AND_PURCHASE reads.
    for (purchase, rent, excluded) in [(2023, 2024, true), (2024, 2024, true), (2025, 2024, false)]
    {
        assert_eq!(
            purchase_excludes_rent(purchase, rent),
            excluded,
            "{purchase} {rent}"
        );
    }
}

#[test]
fn a_first_purchase_of_an_earlier_year_shuts_the_purchase_of_this_year() {
    let lines = [line(1, PaymentKind::Purchase, 2023, None)];
    let b = benefits(&context(Some(3)), &lines);
    assert_eq!(codes(&b.purchase.notes), [BenefitReason::PurchaseNotFirst]);
    // Its paid total counts only this year's lines.
    assert_eq!(b.purchase.paid, Money::ZERO);
    assert_eq!(b.purchase.lines, 0);
}

#[test]
fn the_totals_count_the_lines_of_the_year_and_only_a_districts_own_when_asked() {
    let mut other = line(3, PaymentKind::Rent, 2024, None);
    other.line.district = "330108".to_owned();
    let lines = [
        line(1, PaymentKind::Rent, 2024, Some("80000.00")),
        line(2, PaymentKind::Rent, 2024, None),
        other,
        line(4, PaymentKind::Rent, 2023, Some("100000.00")),
    ];
    let context = context(Some(3));
    let all = benefits(&context, &lines);
    assert_eq!(all.rent.paid, yuan("300000.00"));
    assert_eq!(all.rent.eligible, yuan("80000.00"));
    assert_eq!((all.rent.lines, all.rent.lines_reconciled), (3, 1));
    let own = decide_benefits(
        &BenefitsInput {
            year: 2024,
            today: date("2024-09-01"),
            context: &context,
            rewards: &[],
            lines: &lines,
            totals_of_district: Some(DISTRICT),
        },
        &ParameterSet::shipped_defaults(),
    )
    .expect("complete");
    assert_eq!(own.rent.paid, yuan("200000.00"));
    assert_eq!(own.rent.lines, 2);
}

#[test]
fn a_districts_own_ratio_and_cap_beat_the_general_ones() {
    let mut set = ParameterSet::shipped_defaults();
    set.push(version(
        900,
        "rent_subsidy.ratio",
        Some(DISTRICT),
        ParamValue::Decimal(dec("0.40")),
    ));
    set.push(version(
        901,
        "rent_subsidy.ratio",
        Some("330108"),
        ParamValue::Decimal(dec("0.10")),
    ));
    let b = benefits_with(&context(Some(3)), &[], &[], "2024-09-01", &set).expect("complete");
    assert_eq!(b.rent.ratio, dec("0.40"));
    assert_eq!(b.rent.cap, yuan("2000000.00"));
    assert_eq!(b.rent.district.as_deref(), Some(DISTRICT));
    assert!(b.rent.parameter_versions.contains(&900));
    assert!(b.parameter_versions.contains(&900));
    assert!(!b.parameter_versions.contains(&901));
}

#[test]
fn without_a_vehicle_quota_version_the_quota_is_null_and_says_why() {
    let versions: Vec<ParameterVersion> = ParameterSet::shipped_defaults()
        .versions()
        .iter()
        .filter(|v| !v.name.starts_with("vehicle_quota."))
        .cloned()
        .collect();
    let b = benefits_with(
        &context(Some(4)),
        &[],
        &[],
        "2024-09-01",
        &ParameterSet::new(versions),
    )
    .expect("the vehicle quota is optional");
    assert_eq!(b.vehicle_quota.value, None);
    assert_eq!(
        b.vehicle_quota.note.as_ref().map(|n| (n.code, n.clause)),
        Some((BenefitReason::NoParameter, Clause::S12))
    );
    assert_eq!(
        b.vehicle_quota.parameter.as_deref(),
        Some("vehicle_quota.4")
    );
}

#[test]
fn a_set_vehicle_quota_is_reported() {
    let mut set = ParameterSet::shipped_defaults();
    let mut later = version(950, "vehicle_quota.5", None, ParamValue::Integer(3));
    later.valid_from = date("2024-01-01");
    set.push(later);
    let b = benefits_with(&context(Some(5)), &[], &[], "2024-09-01", &set).expect("complete");
    assert_eq!(b.vehicle_quota.value, Some(3));
    assert_eq!(b.vehicle_quota.parameter_versions, [950]);
}

#[test]
fn a_required_parameter_that_is_absent_is_an_error() {
    for absent in [
        "talent_quota.3",
        "rd_subsidy.uplift.3",
        "star_reward.3",
        "rent_subsidy.ratio",
    ] {
        let versions: Vec<ParameterVersion> = ParameterSet::shipped_defaults()
            .versions()
            .iter()
            .filter(|v| v.name != absent)
            .cloned()
            .collect();
        let result = benefits_with(
            &context(Some(3)),
            &[],
            &[],
            "2024-09-01",
            &ParameterSet::new(versions),
        );
        assert!(
            matches!(result, Err(PolicyError::MissingParameter { ref name, .. }) if name == absent),
            "{absent}: {result:?}"
        );
    }
}

#[test]
fn every_parameter_version_used_is_listed() {
    let set = ParameterSet::shipped_defaults();
    let b = benefits(&context(Some(4)), &[]);
    let id = |name: &str| {
        set.resolve(name, None, date("2024-01-01"))
            .map(|v| v.id)
            .expect("shipped")
    };
    for name in [
        "star_reward.4",
        "star_reward.city_share",
        "rent_subsidy.ratio",
        "rent_subsidy.cap_per_year",
        "purchase_subsidy.ratio",
        "purchase_subsidy.cap",
        "rd_subsidy.uplift.4",
        "talent_quota.4",
        "vehicle_quota.4",
    ] {
        assert!(b.parameter_versions.contains(&id(name)), "{name}");
    }
    assert!(b.parameter_versions.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn a_year_outside_the_policy_rounds_is_refused() {
    for year in [2022, 2028] {
        let context = context(Some(3));
        let result = decide_benefits(
            &BenefitsInput {
                year,
                today: date("2024-09-01"),
                context: &context,
                rewards: &[],
                lines: &[],
                totals_of_district: None,
            },
            &ParameterSet::shipped_defaults(),
        );
        assert!(
            matches!(result, Err(PolicyError::OutsidePolicyPeriod { .. })),
            "{year}"
        );
    }
}

#[test]
fn the_evaluation_day_is_today_within_the_year_else_its_nearest_day() {
    for (today, evaluated) in [
        ("2023-06-01", "2024-01-01"),
        ("2024-09-01", "2024-09-01"),
        ("2026-03-01", "2024-12-31"),
    ] {
        let b = benefits_with(
            &context(Some(3)),
            &[],
            &[],
            today,
            &ParameterSet::shipped_defaults(),
        )
        .expect("complete");
        assert_eq!(b.evaluated_on, date(evaluated), "{today}");
    }
}
