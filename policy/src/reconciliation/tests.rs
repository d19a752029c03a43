use rust_decimal::Decimal;

use super::*;
use crate::params::{ParamValue, ParameterVersion};

fn date(s: &str) -> NaiveDate {
    s.parse().expect("test date")
}

fn yuan(s: &str) -> Money {
    s.parse().expect("test amount")
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).expect("test decimal")
}

const DISTRICT: &str = "330106";
const ENTERPRISE: i64 = 42;

/// A RENT line of the reference enterprise for 2024, paid 2024-06-30 in 西湖区: 10,000.00 paid
/// on a rent of 100,000.00 (limit 30,000.00 with the shipped 30%).
fn rent(id: i64) -> PaymentLine {
    PaymentLine {
        id,
        seq: id,
        district: DISTRICT.to_owned(),
        enterprise_id: ENTERPRISE,
        kind: PaymentKind::Rent,
        subsidy_year: 2024,
        contract_no: "L-2024-01".to_owned(),
        basis: yuan("100000.00"),
        transaction_date: None,
        amount: yuan("10000.00"),
        payment_date: date("2024-06-30"),
        voucher_no: format!("V{id:04}"),
    }
}

/// A PURCHASE line of the reference enterprise: price 10,000,000.00 on 2024-03-01, paid
/// 100,000.00 on 2024-06-30 (limit 500,000.00 with the shipped 5%).
fn purchase(id: i64) -> PaymentLine {
    PaymentLine {
        kind: PaymentKind::Purchase,
        contract_no: "P-2024-01".to_owned(),
        basis: yuan("10000000.00"),
        transaction_date: Some(date("2024-03-01")),
        amount: yuan("100000.00"),
        ..rent(id)
    }
}

/// Recognised for 2023–2025 on 1 April, rated 3★, registered in 西湖区 since 2015, no office.
fn enterprise() -> EnterpriseContext {
    EnterpriseContext {
        enterprise_id: ENTERPRISE,
        recognitions: [
            (2023, date("2023-04-01")),
            (2024, date("2024-04-01")),
            (2025, date("2025-04-01")),
        ]
        .into(),
        stars: [(2023, 3), (2024, 3), (2025, 3)].into(),
        offices: Vec::new(),
        registrations: vec![Registration {
            during: DateRange {
                from: date("2015-01-01"),
                to: None,
            },
            district: Some(DISTRICT.to_owned()),
        }],
        revocations: Vec::new(),
    }
}

fn period() -> PolicyPeriod {
    PolicyPeriod::from_set(&ParameterSet::shipped_defaults(), date("2024-12-31"))
        .expect("shipped defaults")
}

fn input(lines: Vec<PaymentLine>) -> ReconciliationInput {
    ReconciliationInput {
        lines,
        reported: Vec::new(),
        approved: Vec::new(),
        enterprises: vec![enterprise()],
        period: period(),
    }
}

fn run(input: &ReconciliationInput) -> Vec<LineVerdict> {
    reconcile(input, &ParameterSet::shipped_defaults()).expect("reconciles")
}

fn codes(verdict: &LineVerdict) -> Vec<ReasonCode> {
    verdict.reasons.iter().map(|r| r.code).collect()
}

fn verdict_of(verdicts: &[LineVerdict], line_id: i64) -> &LineVerdict {
    verdicts
        .iter()
        .find(|v| v.line_id == line_id)
        .expect("a verdict for every line")
}

fn version(
    id: i64,
    name: &str,
    district: Option<&str>,
    from: &str,
    value: &str,
) -> ParameterVersion {
    ParameterVersion {
        id,
        name: name.to_owned(),
        district: district.map(str::to_owned),
        valid_from: date(from),
        valid_to: None,
        value: ParamValue::Decimal(dec(value)),
        reference: "placeholder (§7)".to_owned(),
        placeholder: true,
    }
}

fn shipped_id(name: &str) -> i64 {
    ParameterSet::shipped_defaults()
        .resolve(name, None, date("2024-01-01"))
        .map(|v| v.id)
        .expect("shipped parameter")
}

#[test]
fn a_line_breaking_no_rule_is_eligible_in_full_and_cites_its_parameters() {
    let verdicts = run(&input(vec![rent(1)]));
    let verdict = &verdicts[0];
    assert_eq!(verdict.eligible, yuan("10000.00"));
    assert_eq!(verdict.cut, Money::ZERO);
    assert!(verdict.reasons.is_empty());
    assert_eq!(verdict.primary_reason, None);
    assert_eq!(verdict.ratio_group.as_deref(), Some("RENT:330106:42:2024"));
    assert_eq!(verdict.group_limit, Some(yuan("30000.00")));
    let mut expected = vec![
        shipped_id("policy.valid_from"),
        shipped_id("policy.valid_to"),
        shipped_id("rent_subsidy.ratio"),
        shipped_id("rent_subsidy.cap_per_year"),
    ];
    expected.sort_unstable();
    assert_eq!(verdict.parameter_versions, expected);
}

/// (case, line, enterprise facts, other reported lines, the only reason, its clause)
type AloneCase = (
    &'static str,
    PaymentLine,
    EnterpriseContext,
    Vec<PaymentLine>,
    ReasonCode,
    &'static str,
);

#[test]
fn each_reason_alone_cuts_the_line_and_cites_its_clause() {
    let moved = |district: Option<&str>| EnterpriseContext {
        registrations: vec![
            Registration {
                during: DateRange {
                    from: date("2015-01-01"),
                    to: Some(date("2024-06-29")),
                },
                district: Some(DISTRICT.to_owned()),
            },
            Registration {
                during: DateRange {
                    from: date("2024-06-30"),
                    to: None,
                },
                district: district.map(str::to_owned),
            },
        ],
        ..enterprise()
    };
    let second_purchase = PaymentLine {
        id: 90,
        seq: 90,
        contract_no: "P-2024-02".to_owned(),
        transaction_date: Some(date("2024-05-01")),
        ..purchase(90)
    };
    let cases: Vec<AloneCase> = vec![
        (
            "paid the day before the policy took effect",
            PaymentLine {
                subsidy_year: 2023,
                payment_date: date("2023-02-19"),
                ..rent(1)
            },
            enterprise(),
            vec![],
            ReasonCode::OutsidePolicyPeriod,
            "§final",
        ),
        (
            "paid the day after the policy's validity ended",
            PaymentLine {
                subsidy_year: 2027,
                payment_date: date("2028-02-21"),
                ..rent(1)
            },
            EnterpriseContext {
                recognitions: [(2027, date("2027-04-01"))].into(),
                stars: [(2027, 3)].into(),
                ..enterprise()
            },
            vec![],
            ReasonCode::OutsidePolicyPeriod,
            "§final",
        ),
        (
            "no recognition for the subsidy year",
            PaymentLine {
                subsidy_year: 2026,
                payment_date: date("2026-06-30"),
                ..rent(1)
            },
            EnterpriseContext {
                stars: [(2026, 3)].into(),
                ..enterprise()
            },
            vec![],
            ReasonCode::NotRecognized,
            "§4",
        ),
        (
            "rated 2 stars",
            rent(1),
            EnterpriseContext {
                stars: [(2024, 2)].into(),
                ..enterprise()
            },
            vec![],
            ReasonCode::StarsBelow3,
            "§7",
        ),
        (
            "not rated",
            rent(1),
            EnterpriseContext {
                stars: BTreeMap::new(),
                ..enterprise()
            },
            vec![],
            ReasonCode::StarsBelow3,
            "§7",
        ),
        (
            "owned an office during the subsidy year",
            rent(1),
            EnterpriseContext {
                offices: vec![DateRange {
                    from: date("2024-03-01"),
                    to: Some(date("2024-03-31")),
                }],
                ..enterprise()
            },
            vec![],
            ReasonCode::OwnsOffice,
            "§7",
        ),
        (
            "rent with a purchase reported elsewhere for the same year",
            rent(1),
            enterprise(),
            vec![PaymentLine {
                district: "330108".to_owned(),
                ..purchase(80)
            }],
            ReasonCode::RentAndPurchase,
            "§7",
        ),
        (
            "a purchase that is not the first",
            second_purchase.clone(),
            enterprise(),
            vec![purchase(80)],
            ReasonCode::PurchaseNotFirst,
            "§7",
        ),
        (
            "registered in another district on the payment date",
            rent(1),
            moved(Some("330108")),
            vec![],
            ReasonCode::WrongDistrict,
            "§20",
        ),
        (
            "outside Hangzhou on the payment date",
            rent(1),
            moved(None),
            vec![],
            ReasonCode::WrongDistrict,
            "§20",
        ),
        (
            "title revoked before the payment",
            rent(1),
            EnterpriseContext {
                revocations: vec![date("2024-06-01")],
                ..enterprise()
            },
            vec![],
            ReasonCode::TitleRevoked,
            "§22",
        ),
        (
            "the same payment reported earlier",
            PaymentLine {
                voucher_no: "V-AGAIN".to_owned(),
                ..rent(2)
            },
            enterprise(),
            vec![rent(1)],
            ReasonCode::DuplicatePayment,
            "§20",
        ),
    ];
    for (case, line, context, others, code, clause) in cases {
        let line_id = line.id;
        let paid = line.amount;
        let input = ReconciliationInput {
            reported: others,
            enterprises: vec![context],
            ..input(vec![line])
        };
        let verdicts = run(&input);
        let verdict = verdict_of(&verdicts, line_id);
        assert_eq!(codes(verdict), [code], "{case}: {:?}", verdict.reasons);
        assert_eq!(verdict.reasons[0].clause.as_str(), clause, "{case}");
        assert_eq!(verdict.primary_reason, Some(code), "{case}");
        assert_eq!(verdict.eligible, Money::ZERO, "{case}");
        assert_eq!(verdict.cut, paid, "{case}");
        assert_eq!(verdict.ratio_group, None, "{case}");
        assert_eq!(verdict.group_limit, None, "{case}");
    }
}

#[test]
fn over_the_district_ratio_alone_cuts_only_the_excess() {
    let line = PaymentLine {
        amount: yuan("30000.01"),
        ..rent(1)
    };
    let verdicts = run(&input(vec![line]));
    assert_eq!(codes(&verdicts[0]), [ReasonCode::OverDistrictRatio]);
    assert_eq!(verdicts[0].reasons[0].clause, Clause::S7);
    assert_eq!(verdicts[0].eligible, yuan("30000.00"));
    assert_eq!(verdicts[0].cut, yuan("0.01"));
    assert_eq!(
        verdicts[0].reasons[0].detail,
        "group RENT:330106:42:2024: limit 30,000.00 = min(floor_to_fen(0.30 × 100,000.00), cap \
         2,000,000.00); group total 30,000.01; cut 0.01 of 30,000.01, latest payment first"
    );
}

#[test]
fn the_policy_period_includes_both_its_first_and_last_day() {
    let cases = [
        ("2023-02-19", 2023, true),
        ("2023-02-20", 2023, false),
        ("2028-02-20", 2027, false),
        ("2028-02-21", 2027, true),
    ];
    for (paid, year, cut) in cases {
        let line = PaymentLine {
            subsidy_year: year,
            payment_date: date(paid),
            ..rent(1)
        };
        let context = EnterpriseContext {
            recognitions: [(year, date(&format!("{year}-01-10")))].into(),
            stars: [(year, 3)].into(),
            ..enterprise()
        };
        let input = ReconciliationInput {
            enterprises: vec![context],
            ..input(vec![line])
        };
        let verdicts = run(&input);
        assert_eq!(
            codes(&verdicts[0]).contains(&ReasonCode::OutsidePolicyPeriod),
            cut,
            "{paid}"
        );
    }
}

#[test]
fn three_stars_pass_and_two_do_not() {
    for (stars, cut) in [(1, true), (2, true), (3, false), (4, false), (5, false)] {
        let input = ReconciliationInput {
            enterprises: vec![EnterpriseContext {
                stars: [(2024, stars)].into(),
                ..enterprise()
            }],
            ..input(vec![rent(1)])
        };
        assert_eq!(!run(&input)[0].reasons.is_empty(), cut, "{stars}★");
    }
}

#[test]
fn a_line_failing_several_rules_lists_them_all_in_table_order_and_is_cut_whole() {
    let line = PaymentLine {
        payment_date: date("2028-03-01"),
        subsidy_year: 2024,
        ..rent(1)
    };
    let context = EnterpriseContext {
        stars: [(2024, 2)].into(),
        registrations: Vec::new(),
        revocations: vec![date("2025-01-01")],
        ..enterprise()
    };
    let input = ReconciliationInput {
        enterprises: vec![context],
        reported: vec![purchase(50)],
        ..input(vec![line])
    };
    let verdicts = run(&input);
    assert_eq!(
        codes(&verdicts[0]),
        [
            ReasonCode::OutsidePolicyPeriod,
            ReasonCode::StarsBelow3,
            ReasonCode::RentAndPurchase,
            ReasonCode::WrongDistrict,
            ReasonCode::TitleRevoked,
        ]
    );
    assert_eq!(
        verdicts[0].primary_reason,
        Some(ReasonCode::OutsidePolicyPeriod)
    );
    assert_eq!(verdicts[0].eligible, Money::ZERO);
    assert_eq!(verdicts[0].cut, yuan("10000.00"));
    let clauses: Vec<&str> = verdicts[0]
        .reasons
        .iter()
        .map(|r| r.clause.as_str())
        .collect();
    assert_eq!(clauses, ["§final", "§7", "§7", "§20", "§22"]);
}

#[test]
fn the_ratio_cut_is_exact_to_the_fen_and_the_limit_is_floored() {
    // 0.30 × 33,333.37 = 10,000.011 → limit 10,000.01; paid 6,000.00 + 4,000.02 = 10,000.02.
    let first = PaymentLine {
        basis: yuan("20000.00"),
        amount: yuan("6000.00"),
        payment_date: date("2024-05-31"),
        ..rent(1)
    };
    let second = PaymentLine {
        basis: yuan("13333.37"),
        amount: yuan("4000.02"),
        payment_date: date("2024-06-30"),
        ..rent(2)
    };
    let verdicts = run(&input(vec![first, second]));
    assert_eq!(verdicts[0].group_limit, Some(yuan("10000.01")));
    assert_eq!(verdicts[0].eligible, yuan("6000.00"));
    assert!(verdicts[0].reasons.is_empty());
    assert_eq!(verdicts[1].eligible, yuan("4000.01"));
    assert_eq!(verdicts[1].cut, yuan("0.01"));
    assert_eq!(codes(&verdicts[1]), [ReasonCode::OverDistrictRatio]);
}

#[test]
fn the_latest_payment_is_cut_first_and_a_tie_goes_by_voucher_text() {
    // Rent 4 × 25,000.00: limit 30,000.00; paid 4 × 10,000.00: one line's worth is cut.
    // (Each under its own lease, so that two payments on one day are not duplicates.)
    let line = |id, paid: &str, voucher: &str| PaymentLine {
        contract_no: format!("L-{id}"),
        basis: yuan("25000.00"),
        payment_date: date(paid),
        voucher_no: voucher.to_owned(),
        ..rent(id)
    };
    let cases = [
        // (lines, id cut whole)
        (
            vec![
                line(1, "2024-12-01", "V1"),
                line(2, "2024-03-01", "V2"),
                line(3, "2024-04-01", "V3"),
                line(4, "2024-05-01", "V4"),
            ],
            1,
        ),
        // Same day: "V9" > "V10" as text.
        (
            vec![
                line(1, "2024-06-30", "V9"),
                line(2, "2024-06-30", "V10"),
                line(3, "2024-01-31", "V11"),
                line(4, "2024-02-29", "V12"),
            ],
            1,
        ),
        (
            vec![
                line(1, "2024-06-30", "A-2"),
                line(2, "2024-06-30", "B-1"),
                line(3, "2024-01-31", "C-1"),
                line(4, "2024-02-29", "C-2"),
            ],
            2,
        ),
    ];
    for (lines, cut_id) in cases {
        let verdicts = run(&input(lines));
        for verdict in &verdicts {
            let expected = if verdict.line_id == cut_id {
                Money::ZERO
            } else {
                yuan("10000.00")
            };
            assert_eq!(verdict.eligible, expected, "line {}", verdict.line_id);
        }
    }
}

#[test]
fn a_partial_cut_falls_on_the_latest_line_and_spills_to_the_next() {
    // Each line: rent 25,000.00, paid 12,000.00.
    // Three lines: limit 30% × 75,000.00 = 22,500.00 of 36,000.00 paid; 13,500.00 is cut: the
    // latest loses all 12,000.00, the one before 1,500.00.
    // Four lines: limit 30,000.00 of 48,000.00; 18,000.00 is cut: 12,000.00 + 6,000.00.
    let line = |id, paid: &str| PaymentLine {
        amount: yuan("12000.00"),
        basis: yuan("25000.00"),
        payment_date: date(paid),
        ..rent(id)
    };
    let three = run(&input(vec![
        line(1, "2024-02-01"),
        line(2, "2024-03-01"),
        line(3, "2024-04-01"),
    ]));
    let eligible: Vec<Money> = three.iter().map(|v| v.eligible).collect();
    assert_eq!(eligible, [yuan("12000.00"), yuan("10500.00"), Money::ZERO]);
    let four = run(&input(vec![
        line(1, "2024-02-01"),
        line(2, "2024-03-01"),
        line(3, "2024-04-01"),
        line(4, "2024-05-01"),
    ]));
    let eligible: Vec<Money> = four.iter().map(|v| v.eligible).collect();
    assert_eq!(
        eligible,
        [
            yuan("12000.00"),
            yuan("12000.00"),
            yuan("6000.00"),
            Money::ZERO
        ]
    );
    assert_eq!(codes(&four[3]), [ReasonCode::OverDistrictRatio]);
    assert!(four[0].reasons.is_empty());
}

#[test]
fn the_cap_binds_when_below_the_ratio_and_the_ratio_when_below_the_cap() {
    let cases = [
        // (rent, paid, limit, eligible): cap 2,000,000.00, ratio 30%
        ("6666666.66", "2000000.00", "1999999.99", "1999999.99"),
        ("6666666.67", "2000000.00", "2000000.00", "2000000.00"),
        ("10000000.00", "2500000.00", "2000000.00", "2000000.00"),
        ("1000000.00", "400000.00", "300000.00", "300000.00"),
    ];
    for (basis, paid, limit, eligible) in cases {
        let line = PaymentLine {
            basis: yuan(basis),
            amount: yuan(paid),
            ..rent(1)
        };
        let verdicts = run(&input(vec![line]));
        assert_eq!(verdicts[0].group_limit, Some(yuan(limit)), "{basis}");
        assert_eq!(verdicts[0].eligible, yuan(eligible), "{basis}");
    }
}

#[test]
fn the_purchase_price_counts_once_and_the_cap_can_bind() {
    // 5% of 10,000,000.00 = 500,000.00, not 5% of the price summed over three lines.
    let line = |id, amount: &str, paid: &str| PaymentLine {
        amount: yuan(amount),
        payment_date: date(paid),
        ..purchase(id)
    };
    let verdicts = run(&input(vec![
        line(1, "300000.00", "2024-04-01"),
        line(2, "300000.00", "2024-05-01"),
        line(3, "300000.00", "2024-06-01"),
    ]));
    let eligible: Vec<Money> = verdicts.iter().map(|v| v.eligible).collect();
    assert_eq!(
        eligible,
        [yuan("300000.00"), yuan("200000.00"), Money::ZERO]
    );
    assert_eq!(
        verdicts[0].ratio_group.as_deref(),
        Some(format!("PURCHASE:330106:{ENTERPRISE}:P-2024-01").as_str())
    );
    // 5% of 300,000,000.00 is 15,000,000.00: the 10,000,000.00 cap binds.
    let expensive = PaymentLine {
        basis: yuan("300000000.00"),
        amount: yuan("12000000.00"),
        ..purchase(1)
    };
    let verdicts = run(&input(vec![expensive]));
    assert_eq!(verdicts[0].group_limit, Some(yuan("10000000.00")));
    assert_eq!(verdicts[0].eligible, yuan("10000000.00"));
}

#[test]
fn a_purchase_paid_over_two_years_keeps_the_approved_years_amount() {
    // 2024 (approved): 400,000.00 eligible. 2025: 150,000.00 paid; limit 500,000.00.
    let earlier = ApprovedLine {
        line: PaymentLine {
            amount: yuan("400000.00"),
            ..purchase(1)
        },
        eligible: yuan("400000.00"),
        primary_reason: None,
    };
    let later = PaymentLine {
        amount: yuan("150000.00"),
        payment_date: date("2025-03-01"),
        ..purchase(2)
    };
    let input = ReconciliationInput {
        approved: vec![earlier],
        ..input(vec![later])
    };
    let verdicts = run(&input);
    assert_eq!(verdicts.len(), 1, "approved lines are not re-decided");
    assert_eq!(verdicts[0].line_id, 2);
    assert_eq!(verdicts[0].eligible, yuan("100000.00"));
    assert_eq!(verdicts[0].cut, yuan("50000.00"));
    assert_eq!(codes(&verdicts[0]), [ReasonCode::OverDistrictRatio]);
    assert!(
        verdicts[0].reasons[0]
            .detail
            .contains("(approved 400,000.00)")
    );
}

#[test]
fn an_approved_amount_above_the_limit_is_kept_and_the_new_line_is_cut_whole() {
    // A later, lower district ratio cannot claw back an approved year here (§20 step 6 does).
    let earlier = ApprovedLine {
        line: PaymentLine {
            amount: yuan("600000.00"),
            ..purchase(1)
        },
        eligible: yuan("600000.00"),
        primary_reason: None,
    };
    let input = ReconciliationInput {
        approved: vec![earlier],
        ..input(vec![PaymentLine {
            payment_date: date("2025-03-01"),
            ..purchase(2)
        }])
    };
    let verdicts = run(&input);
    assert_eq!(verdicts[0].eligible, Money::ZERO);
    assert_eq!(verdicts[0].cut, yuan("100000.00"));
}

#[test]
fn an_approved_rent_line_cut_whole_does_not_lift_the_limit() {
    // Same RENT group: approved line 1 (rent 100,000.00) was cut whole as a duplicate, so its
    // rent does not count; approved line 3 survived (only ratio-cut), so its rent and its
    // approved 1,000.00 do.
    let approved = ApprovedLine {
        line: rent(1),
        eligible: Money::ZERO,
        primary_reason: Some(ReasonCode::DuplicatePayment),
    };
    let survivor = ApprovedLine {
        primary_reason: Some(ReasonCode::OverDistrictRatio),
        eligible: yuan("1000.00"),
        line: PaymentLine {
            basis: yuan("10000.00"),
            amount: yuan("5000.00"),
            voucher_no: "V-OLD".to_owned(),
            ..rent(3)
        },
    };
    let new = PaymentLine {
        basis: yuan("50000.00"),
        amount: yuan("20000.00"),
        payment_date: date("2025-01-15"),
        ..rent(2)
    };
    let input = ReconciliationInput {
        approved: vec![approved, survivor],
        ..input(vec![new])
    };
    let verdicts = run(&input);
    // limit = 30% × (50,000.00 + 10,000.00) = 18,000.00; approved 1,000.00 counts.
    assert_eq!(verdicts[0].group_limit, Some(yuan("18000.00")));
    assert_eq!(verdicts[0].eligible, yuan("17000.00"));
}

#[test]
fn a_districts_own_parameters_beat_the_general_ones_and_are_cited() {
    let mut set = ParameterSet::shipped_defaults();
    set.push(version(
        901,
        "rent_subsidy.ratio",
        Some(DISTRICT),
        "2024-01-01",
        "0.50",
    ));
    set.push(version(
        902,
        "rent_subsidy.ratio",
        Some("330108"),
        "2023-01-01",
        "0.10",
    ));
    set.push(version(
        903,
        "rent_subsidy.cap_per_year",
        None,
        "2024-01-01",
        "45000.00",
    ));
    let line = PaymentLine {
        amount: yuan("50000.00"),
        ..rent(1)
    };
    let verdicts = reconcile(&input(vec![line]), &set).expect("reconciles");
    // min(50% × 100,000.00, 45,000.00) = 45,000.00
    assert_eq!(verdicts[0].group_limit, Some(yuan("45000.00")));
    assert_eq!(verdicts[0].eligible, yuan("45000.00"));
    assert!(verdicts[0].parameter_versions.contains(&901));
    assert!(verdicts[0].parameter_versions.contains(&903));
    assert!(!verdicts[0].parameter_versions.contains(&902));
    assert!(
        !verdicts[0]
            .parameter_versions
            .contains(&shipped_id("rent_subsidy.ratio"))
    );
}

#[test]
fn rent_parameters_are_those_in_force_on_1_january_of_the_subsidy_year() {
    let mut set = ParameterSet::shipped_defaults();
    // From 2 January 2024: not in force on 1 January 2024.
    set.push(version(
        901,
        "rent_subsidy.ratio",
        Some(DISTRICT),
        "2024-01-02",
        "0.50",
    ));
    let verdicts = reconcile(&input(vec![rent(1)]), &set).expect("reconciles");
    assert_eq!(verdicts[0].group_limit, Some(yuan("30000.00")));
    assert!(!verdicts[0].parameter_versions.contains(&901));
}

#[test]
fn purchase_parameters_are_those_in_force_on_the_transaction_date() {
    let cases = [("2024-03-01", "1000000.00"), ("2024-03-02", "500000.00")];
    for (from, limit) in cases {
        let mut set = ParameterSet::shipped_defaults();
        set.push(version(
            901,
            "purchase_subsidy.ratio",
            Some(DISTRICT),
            from,
            "0.10",
        ));
        let verdicts = reconcile(&input(vec![purchase(1)]), &set).expect("reconciles");
        assert_eq!(verdicts[0].group_limit, Some(yuan(limit)), "from {from}");
    }
}

#[test]
fn a_missing_district_parameter_is_an_error_not_a_default() {
    let set = ParameterSet::new(
        ParameterSet::shipped_defaults()
            .versions()
            .iter()
            .filter(|v| v.name != "rent_subsidy.cap_per_year")
            .cloned()
            .collect(),
    );
    assert!(matches!(
        reconcile(&input(vec![rent(1)]), &set),
        Err(ReconciliationError::Policy(
            PolicyError::MissingParameter { .. }
        ))
    ));
}

#[test]
fn a_line_cut_whole_does_not_count_towards_its_group() {
    // Line 2 repeats line 1: cut whole as a duplicate, it neither adds its rent to the basis
    // nor uses up the limit (30% × 100,000.00 = 30,000.00, all of it line 1's).
    let first = PaymentLine {
        amount: yuan("30000.00"),
        ..rent(1)
    };
    let again = PaymentLine {
        voucher_no: "V-AGAIN".to_owned(),
        ..first.clone()
    };
    let again = PaymentLine {
        id: 2,
        seq: 2,
        ..again
    };
    let verdicts = run(&input(vec![first, again]));
    assert_eq!(verdicts[0].eligible, yuan("30000.00"));
    assert!(verdicts[0].reasons.is_empty());
    assert_eq!(codes(&verdicts[1]), [ReasonCode::DuplicatePayment]);
}

#[test]
fn a_duplicate_of_a_line_in_the_wrong_district_is_not_a_duplicate() {
    // The enterprise moved to 330108 in 2024; 330106 reported first by mistake.
    let context = EnterpriseContext {
        registrations: vec![Registration {
            during: DateRange {
                from: date("2024-01-01"),
                to: None,
            },
            district: Some("330108".to_owned()),
        }],
        ..enterprise()
    };
    let wrong = rent(1);
    let right = PaymentLine {
        district: "330108".to_owned(),
        ..rent(2)
    };
    let cases = [
        // (the earlier line's district, reasons of the later line)
        (wrong.clone(), vec![]),
        (
            PaymentLine {
                district: "330108".to_owned(),
                ..rent(1)
            },
            vec![ReasonCode::DuplicatePayment],
        ),
    ];
    for (earlier, expected) in cases {
        let input = ReconciliationInput {
            reported: vec![earlier],
            enterprises: vec![context.clone()],
            ..input(vec![right.clone()])
        };
        assert_eq!(codes(&run(&input)[0]), expected);
    }
    // The earlier line itself is cut for the wrong district, not as a duplicate.
    let input = ReconciliationInput {
        enterprises: vec![context],
        ..input(vec![wrong, right])
    };
    let verdicts = run(&input);
    assert_eq!(codes(&verdicts[0]), [ReasonCode::WrongDistrict]);
    assert!(verdicts[1].reasons.is_empty());
}

#[test]
fn a_duplicate_needs_every_field_equal_and_an_earlier_report() {
    let original = rent(5);
    let variants: [(&str, PaymentLine, bool); 8] = [
        ("identical, reported later", rent(6), true),
        ("identical, reported earlier", rent(4), false),
        (
            "another amount",
            PaymentLine {
                amount: yuan("10000.01"),
                basis: yuan("100000.00"),
                ..rent(6)
            },
            false,
        ),
        (
            "another payment date",
            PaymentLine {
                payment_date: date("2024-07-01"),
                ..rent(6)
            },
            false,
        ),
        (
            "another contract",
            PaymentLine {
                contract_no: "L-2024-02".to_owned(),
                ..rent(6)
            },
            false,
        ),
        (
            "another subsidy year",
            PaymentLine {
                subsidy_year: 2025,
                ..rent(6)
            },
            false,
        ),
        (
            "another enterprise",
            PaymentLine {
                enterprise_id: 43,
                ..rent(6)
            },
            false,
        ),
        (
            "another district, the same payment",
            PaymentLine {
                district: "330108".to_owned(),
                ..rent(6)
            },
            true,
        ),
    ];
    for (case, line, duplicate) in variants {
        let other = EnterpriseContext {
            enterprise_id: 43,
            ..enterprise()
        };
        // In another district the later line is also WRONG_DISTRICT; only DUPLICATE matters.
        let input = ReconciliationInput {
            reported: vec![original.clone()],
            enterprises: vec![enterprise(), other],
            ..input(vec![line])
        };
        let verdicts = run(&input);
        assert_eq!(
            codes(&verdicts[0]).contains(&ReasonCode::DuplicatePayment),
            duplicate,
            "{case}"
        );
    }
}

#[test]
fn a_revocation_cuts_payments_from_its_date_and_only_after_the_recognition() {
    // Paid 2024-06-30; recognition for 2024 decided 2024-04-01.
    let cases = [
        // (revoked on, recognition decided on, cut)
        ("2024-06-30", "2024-04-01", true),
        ("2024-07-01", "2024-04-01", false),
        ("2024-04-02", "2024-04-01", true),
        ("2024-04-01", "2024-04-01", false),
        ("2024-03-31", "2024-04-01", false),
    ];
    for (revoked, decided, cut) in cases {
        let context = EnterpriseContext {
            revocations: vec![date(revoked)],
            recognitions: [(2024, date(decided))].into(),
            ..enterprise()
        };
        let input = ReconciliationInput {
            enterprises: vec![context],
            ..input(vec![rent(1)])
        };
        let verdicts = run(&input);
        assert_eq!(
            codes(&verdicts[0]) == [ReasonCode::TitleRevoked],
            cut,
            "revoked {revoked}, decided {decided}"
        );
        assert_eq!(verdicts[0].reasons.is_empty(), !cut, "revoked {revoked}");
    }
}

#[test]
fn an_office_owned_on_any_day_of_the_rent_year_cuts_the_rent() {
    let cases = [
        // (owned from, to, cut)
        ("2024-12-31", None, true),
        ("2020-01-01", Some("2024-01-01"), true),
        ("2020-01-01", Some("2023-12-31"), false),
        ("2025-01-01", None, false),
    ];
    for (from, to, cut) in cases {
        let context = EnterpriseContext {
            offices: vec![DateRange {
                from: date(from),
                to: to.map(date),
            }],
            ..enterprise()
        };
        let input = ReconciliationInput {
            enterprises: vec![context],
            ..input(vec![rent(1)])
        };
        assert_eq!(
            codes(&run(&input)[0]) == [ReasonCode::OwnsOffice],
            cut,
            "owned {from}..{to:?}"
        );
    }
}

#[test]
fn an_office_owned_the_day_before_the_transaction_cuts_the_purchase() {
    // Transaction 2024-03-01 (2024 is a leap year: the day before is 29 February).
    let cases = [
        ("2024-02-29", None, true),
        ("2024-03-01", None, false),
        ("2020-01-01", Some("2024-02-28"), false),
        ("2020-01-01", Some("2024-02-29"), true),
    ];
    for (from, to, cut) in cases {
        let context = EnterpriseContext {
            offices: vec![DateRange {
                from: date(from),
                to: to.map(date),
            }],
            ..enterprise()
        };
        let input = ReconciliationInput {
            enterprises: vec![context],
            ..input(vec![purchase(1)])
        };
        assert_eq!(
            codes(&run(&input)[0]) == [ReasonCode::OwnsOffice],
            cut,
            "owned from {from}"
        );
    }
}

#[test]
fn rent_is_cut_by_a_purchase_for_the_same_or_an_earlier_year_in_any_district() {
    let cases = [
        // (purchase subsidy year, cut)
        (2023, true),
        (2024, true),
        (2025, false),
    ];
    for (year, cut) in cases {
        let bought = PaymentLine {
            district: "330108".to_owned(),
            subsidy_year: year,
            transaction_date: Some(date(&format!("{year}-03-01"))),
            ..purchase(80)
        };
        let input = ReconciliationInput {
            reported: vec![bought],
            ..input(vec![rent(1)])
        };
        assert_eq!(
            codes(&run(&input)[0]) == [ReasonCode::RentAndPurchase],
            cut,
            "purchase for {year}"
        );
    }
}

#[test]
fn the_first_purchase_is_the_earliest_transaction_and_a_tie_goes_to_the_lower_contract() {
    let other = |contract: &str, day: &str| PaymentLine {
        contract_no: contract.to_owned(),
        transaction_date: Some(date(day)),
        district: "330108".to_owned(),
        ..purchase(80)
    };
    let cases = [
        // (the other contract, is this line (P-2024-01 on 2024-03-01) cut)
        (other("P-2023-09", "2024-02-29"), true),
        (other("P-2024-99", "2024-03-02"), false),
        (other("P-2024-00", "2024-03-01"), true),
        (other("P-2024-02", "2024-03-01"), false),
    ];
    for (other, cut) in cases {
        let input = ReconciliationInput {
            reported: vec![other.clone()],
            ..input(vec![purchase(1)])
        };
        assert_eq!(
            codes(&run(&input)[0]) == [ReasonCode::PurchaseNotFirst],
            cut,
            "{} on {:?}",
            other.contract_no,
            other.transaction_date
        );
    }
}

#[test]
fn a_move_on_the_payment_date_counts_from_that_day() {
    let moved_on = |day: &str| EnterpriseContext {
        registrations: vec![
            Registration {
                during: DateRange {
                    from: date("2015-01-01"),
                    to: date(day).pred_opt(),
                },
                district: Some("330108".to_owned()),
            },
            Registration {
                during: DateRange {
                    from: date(day),
                    to: None,
                },
                district: Some(DISTRICT.to_owned()),
            },
        ],
        ..enterprise()
    };
    for (moved, cut) in [("2024-06-30", false), ("2024-07-01", true)] {
        let input = ReconciliationInput {
            enterprises: vec![moved_on(moved)],
            ..input(vec![rent(1)])
        };
        assert_eq!(
            codes(&run(&input)[0]) == [ReasonCode::WrongDistrict],
            cut,
            "moved in on {moved}"
        );
    }
}

#[test]
fn verdicts_come_in_report_order() {
    let mut late = rent(7);
    late.seq = 1;
    let mut early = rent(3);
    early.seq = 9;
    early.voucher_no = "V-X".to_owned();
    early.payment_date = date("2024-07-01");
    let verdicts = run(&input(vec![early, late]));
    let ids: Vec<i64> = verdicts.iter().map(|v| v.line_id).collect();
    assert_eq!(ids, [7, 3]);
}

#[test]
fn inconsistent_input_is_refused() {
    let cases: [(&str, ReconciliationInput); 5] = [
        (
            "amount",
            input(vec![PaymentLine {
                amount: Money::ZERO,
                ..rent(1)
            }]),
        ),
        (
            "transaction_date",
            input(vec![PaymentLine {
                transaction_date: None,
                ..purchase(1)
            }]),
        ),
        (
            "enterprise_id",
            input(vec![PaymentLine {
                enterprise_id: 7,
                ..rent(1)
            }]),
        ),
        ("id", input(vec![rent(1), rent(1)])),
        (
            "basis",
            ReconciliationInput {
                approved: vec![ApprovedLine {
                    line: PaymentLine {
                        basis: yuan("9000000.00"),
                        ..purchase(1)
                    },
                    eligible: yuan("1.00"),
                    primary_reason: None,
                }],
                ..input(vec![PaymentLine {
                    payment_date: date("2025-01-10"),
                    ..purchase(2)
                }])
            },
        ),
    ];
    for (field, input) in cases {
        match reconcile(&input, &ParameterSet::shipped_defaults()) {
            Err(ReconciliationError::InvalidLine { field: got, .. }) => {
                assert_eq!(got, field);
            }
            other => panic!("{field}: {other:?}"),
        }
    }
}

#[test]
fn reason_codes_are_the_documented_ones_in_table_order() {
    let names: Vec<String> = ReasonCode::ALL
        .iter()
        .map(|code| serde_json::to_string(code).expect("json"))
        .collect();
    assert_eq!(
        names,
        [
            "\"OUTSIDE_POLICY_PERIOD\"",
            "\"NOT_RECOGNIZED\"",
            "\"STARS_BELOW_3\"",
            "\"OWNS_OFFICE\"",
            "\"RENT_AND_PURCHASE\"",
            "\"PURCHASE_NOT_FIRST\"",
            "\"WRONG_DISTRICT\"",
            "\"TITLE_REVOKED\"",
            "\"DUPLICATE_PAYMENT\"",
            "\"OVER_DISTRICT_RATIO\"",
        ]
    );
    for code in ReasonCode::ALL {
        assert_eq!(
            format!("\"{code}\""),
            serde_json::to_string(&code).expect("json")
        );
        assert_eq!(code.as_str().parse::<ReasonCode>(), Ok(code));
        let back: ReasonCode =
            serde_json::from_str(&format!("\"{}\"", code.as_str())).expect("json");
        assert_eq!(back, code);
    }
    let mut sorted = ReasonCode::ALL;
    sorted.sort();
    assert_eq!(sorted, ReasonCode::ALL, "Ord is the table order");
    let clauses: Vec<&str> = ReasonCode::ALL
        .iter()
        .map(|c| c.clause().as_str())
        .collect();
    assert_eq!(
        clauses,
        [
            "§final", "§4", "§7", "§7", "§7", "§7", "§20", "§22", "§20", "§7"
        ]
    );
    assert!("STARS_BELOW3".parse::<ReasonCode>().is_err());
}

#[test]
fn payment_kinds_round_trip_through_text() {
    for kind in PaymentKind::ALL {
        assert_eq!(kind.as_str().parse::<PaymentKind>(), Ok(kind));
        assert_eq!(
            serde_json::to_string(&kind).expect("json"),
            format!("\"{kind}\"")
        );
    }
    assert!("rent".parse::<PaymentKind>().is_err());
}
