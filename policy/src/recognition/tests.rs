use super::*;

fn date(s: &str) -> NaiveDate {
    s.parse().expect("test date")
}

fn yuan(s: &str) -> Money {
    s.parse().expect("test amount")
}

/// The shipped parameters as in force on 2024-05-01.
fn params() -> RecognitionParams {
    RecognitionParams::from_set(&ParameterSet::shipped_defaults(), date("2024-05-01"))
        .expect("shipped defaults are complete")
}

/// The rule set of 杭政办〔2023〕3号: every rule of the table.
fn original() -> RuleSet {
    RuleSet {
        code: "HZ-2023-3".to_owned(),
        document: "杭政办〔2023〕3号".to_owned(),
        effective_from: date("2023-02-20"),
        effective_to: Some(date("2028-02-20")),
        rules: RuleId::ALL.into_iter().collect(),
    }
}

/// An enterprise that passes the basic rules and the STANDARD route with 2023 revenue of
/// 1.2 billion, but neither the RD nor the LISTED route.
fn enterprise() -> Facts {
    Facts {
        name: "杭州某某科技有限公司".to_owned(),
        district_code: Some("330106".to_owned()),
        hangzhou_since: Some(date("2015-06-01")),
        industry_code: "7211".to_owned(),
        ownership: Ownership::Private,
        industrial_guidance: true,
        independent_legal_person: true,
        deemed_legal_person: false,
        operating: true,
        unified_accounting: true,
        rd_facilities: false,
        rd_stable_funding: false,
        outside_units: 2,
        listing_exchange: None,
        listed_entity_in_hangzhou: false,
        dishonest: false,
        owns_office: false,
        registered_capital: None,
    }
}

fn figures(revenue: &str, rd_spend: &str) -> Figures {
    Figures {
        revenue: yuan(revenue),
        rd_spend: yuan(rd_spend),
    }
}

fn standard_figures() -> Figures {
    figures("1200000000.00", "0")
}

fn decide(facts: &Facts, figures: Option<&Figures>) -> RecognitionVerdict {
    decide_recognition(
        &original(),
        facts,
        figures,
        &[],
        2024,
        date("2024-05-01"),
        &params(),
    )
    .expect("2024 is in the policy period")
}

fn rule(verdict: &RecognitionVerdict, rule: RuleId) -> &RuleResult {
    verdict.rule(rule).expect("every rule is listed")
}

#[test]
fn the_reference_enterprise_is_eligible_by_the_standard_route() {
    let verdict = decide(&enterprise(), Some(&standard_figures()));
    assert!(verdict.eligible);
    assert_eq!(verdict.route, Some(Route::Standard));
    assert!(!verdict.needs_review);
    assert_eq!(verdict.ban_until, None);
    assert_eq!(
        verdict.failed,
        [
            RuleId::RdFacilities,
            RuleId::RdStableFunding,
            RuleId::RdMinSpend,
            RuleId::RdMinRatio,
            RuleId::ListedOnAcceptedExchange,
            RuleId::ListedEntityInHangzhou,
        ]
    );
    assert_eq!(verdict.ensure_eligible(), Ok(()));
}

#[test]
fn every_rule_is_evaluated_and_listed_in_table_order_with_its_clause() {
    let facts = Facts {
        district_code: None,
        dishonest: true,
        ..enterprise()
    };
    let verdict = decide(&facts, None);
    let ids: Vec<RuleId> = verdict.rules.iter().map(|r| r.rule).collect();
    assert_eq!(ids, RuleId::ALL);
    for result in &verdict.rules {
        assert_eq!(result.clause, result.rule.clause());
    }
    let clauses: Vec<&str> = verdict.rules.iter().map(|r| r.clause.as_str()).collect();
    assert_eq!(
        clauses,
        [
            "§22", "§3.1", "§3.1", "§3.1", "§3.1", "§3.1", "§3.1", "§3.1", "§3.1", "§3.1", "§3.2",
            "§3.3", "§3.3", "§3.3", "§3.3", "§3.4", "§3.4"
        ]
    );
}

#[test]
fn the_revenue_threshold_depends_on_the_stay_in_hangzhou_and_is_inclusive() {
    let cases = [
        // (hangzhou_since, revenue, passes, threshold)
        ("2021-12-31", "1000000000.00", true, "1000000000.00"),
        ("2021-12-31", "999999999.99", false, "1000000000.00"),
        ("2021-12-31", "500000000.00", false, "1000000000.00"),
        ("2022-01-01", "500000000.00", true, "500000000.00"),
        ("2022-01-01", "499999999.99", false, "500000000.00"),
        ("2022-01-01", "999999999.99", true, "500000000.00"),
        ("2015-06-01", "1000000000.00", true, "1000000000.00"),
        ("2024-01-01", "500000000.00", true, "500000000.00"),
    ];
    for (since, revenue, passes, threshold) in cases {
        let facts = Facts {
            hangzhou_since: Some(date(since)),
            ..enterprise()
        };
        let verdict = decide(&facts, Some(&figures(revenue, "0")));
        let result = rule(&verdict, RuleId::RevenueThreshold);
        assert_eq!(
            result.passed, passes,
            "{since} {revenue}: {}",
            result.detail
        );
        assert_eq!(verdict.eligible, passes, "{since} {revenue}");
        assert!(
            result.figures.contains(&Figure {
                name: "threshold".into(),
                value: threshold.to_owned()
            }),
            "{since} {revenue}: {:?}",
            result.figures
        );
    }
}

#[test]
fn a_failed_revenue_rule_states_the_figures_and_the_gap() {
    let facts = Facts {
        hangzhou_since: Some(date("2022-03-01")),
        ..enterprise()
    };
    let verdict = decide(&facts, Some(&figures("463000000.00", "0")));
    let result = rule(&verdict, RuleId::RevenueThreshold);
    assert!(!result.passed);
    assert_eq!(
        result.detail,
        "revenue 463,000,000.00 < 500,000,000.00 (new enterprise, in Hangzhou since 2022-03-01)"
    );
    assert_eq!(result.gap, Some(Gap::Money(yuan("37000000.00"))));
    assert_eq!(result.clause, Clause::S3_2);
}

#[test]
fn revenue_one_fen_under_the_threshold_has_a_gap_of_one_fen() {
    let verdict = decide(&enterprise(), Some(&figures("999999999.99", "0")));
    assert_eq!(
        rule(&verdict, RuleId::RevenueThreshold).gap,
        Some(Gap::Money(Money::from_fen(1)))
    );
}

#[test]
fn without_a_date_of_arrival_the_higher_existing_threshold_applies() {
    let facts = Facts {
        hangzhou_since: None,
        ..enterprise()
    };
    let cases = [
        ("1000000000.00", true),
        ("999999999.99", false),
        ("500000000.00", false),
    ];
    for (revenue, passes) in cases {
        let verdict = decide(&facts, Some(&figures(revenue, "0")));
        let result = rule(&verdict, RuleId::RevenueThreshold);
        assert_eq!(result.passed, passes, "{revenue}");
        assert!(
            result.detail.contains("existing-enterprise threshold"),
            "{}",
            result.detail
        );
    }
}

/// An enterprise with everything the RD route needs except the figures.
fn rd_enterprise() -> Facts {
    Facts {
        rd_facilities: true,
        rd_stable_funding: true,
        ..enterprise()
    }
}

#[test]
fn rd_spend_of_exactly_fifty_million_passes_and_one_fen_less_fails() {
    let cases = [
        ("50000000.00", true, None),
        ("49999999.99", false, Some(Money::from_fen(1))),
    ];
    for (rd, passes, gap) in cases {
        // Revenue 400 million: below the STANDARD threshold, and 10% is 40 million.
        let verdict = decide(&rd_enterprise(), Some(&figures("400000000.00", rd)));
        let result = rule(&verdict, RuleId::RdMinSpend);
        assert_eq!(result.passed, passes, "{rd}: {}", result.detail);
        assert_eq!(result.gap, gap.map(Gap::Money), "{rd}");
        assert!(rule(&verdict, RuleId::RdMinRatio).passed, "{rd}");
        assert_eq!(verdict.eligible, passes, "{rd}");
        assert_eq!(verdict.route, passes.then_some(Route::Rd), "{rd}");
    }
    let verdict = decide(
        &rd_enterprise(),
        Some(&figures("400000000.00", "49999999.99")),
    );
    assert_eq!(
        rule(&verdict, RuleId::RdMinSpend).detail,
        "R&D 49,999,999.99 < 50,000,000.00"
    );
}

#[test]
fn an_rd_ratio_of_exactly_ten_percent_passes_and_one_fen_less_fails() {
    let cases = [
        // (revenue, R&D, passes, gap in fen)
        ("600000000.00", "60000000.00", true, None),
        ("600000000.00", "59999999.99", false, Some(1)),
        ("600000000.00", "50000000.00", false, Some(1_000_000_000)),
        // 10% of 600,000,000.05 is 60,000,000.005: 60,000,000.00 is short by half a fen,
        // so it fails, and the least passing R&D is 60,000,000.01.
        ("600000000.05", "60000000.00", false, Some(1)),
        ("600000000.05", "60000000.01", true, None),
        ("600000000.09", "60000000.01", true, None),
        ("600000000.10", "60000000.01", true, None),
        ("600000000.11", "60000000.01", false, Some(1)),
    ];
    for (revenue, rd, passes, gap) in cases {
        let verdict = decide(&rd_enterprise(), Some(&figures(revenue, rd)));
        let result = rule(&verdict, RuleId::RdMinRatio);
        assert_eq!(result.passed, passes, "{revenue} {rd}: {}", result.detail);
        assert_eq!(
            result.gap,
            gap.map(|f| Gap::Money(Money::from_fen(f))),
            "{revenue} {rd}"
        );
    }
    let verdict = decide(
        &rd_enterprise(),
        Some(&figures("600000000.00", "59999999.99")),
    );
    assert_eq!(
        rule(&verdict, RuleId::RdMinRatio).detail,
        "R&D 59,999,999.99 < 0.10 × revenue 600,000,000.00 = 60,000,000.00"
    );
    let verdict = decide(
        &rd_enterprise(),
        Some(&figures("600000000.05", "60000000.00")),
    );
    assert_eq!(
        rule(&verdict, RuleId::RdMinRatio).detail,
        "R&D 60,000,000.00 < 0.10 × revenue 600,000,000.05 = 60,000,000.01, rounded up to the fen"
    );
}

#[test]
fn the_rd_route_needs_facilities_and_stable_funding() {
    let rd = figures("400000000.00", "60000000.00");
    for (facilities, funding, eligible) in [
        (true, true, true),
        (false, true, false),
        (true, false, false),
    ] {
        let facts = Facts {
            rd_facilities: facilities,
            rd_stable_funding: funding,
            ..enterprise()
        };
        let verdict = decide(&facts, Some(&rd));
        assert_eq!(verdict.eligible, eligible, "{facilities} {funding}");
    }
}

#[test]
fn two_outside_units_pass_and_one_fails_with_the_missing_count() {
    let cases = [
        (0, false, Some(2)),
        (1, false, Some(1)),
        (2, true, None),
        (7, true, None),
    ];
    for (units, passes, gap) in cases {
        let facts = Facts {
            outside_units: units,
            ..enterprise()
        };
        let verdict = decide(&facts, Some(&standard_figures()));
        let result = rule(&verdict, RuleId::OutsideUnits);
        assert_eq!(result.passed, passes, "{units}");
        assert_eq!(result.gap, gap.map(Gap::Units), "{units}");
        assert_eq!(verdict.eligible, passes, "{units}");
    }
}

#[test]
fn every_excluded_industry_prefix_fails_the_industry_rule() {
    let cases = [
        ("6621", "66"),
        ("6711", "67"),
        ("6813", "68"),
        ("6911", "691"),
        ("6950", "695"),
        ("6991", "699"),
        ("6311", "6311"),
        ("6312", "6312"),
        ("1610", "16"),
        ("4411", "441"),
        ("4420", "442"),
        ("5631", "5631"),
        ("7010", "7010"),
    ];
    for (class, prefix) in cases {
        let facts = Facts {
            industry_code: class.to_owned(),
            ..enterprise()
        };
        let verdict = decide(&facts, Some(&standard_figures()));
        let result = rule(&verdict, RuleId::IndustryNotExcluded);
        assert!(!result.passed, "{class}");
        assert_eq!(
            result.detail,
            format!("industry {class} is excluded (prefix {prefix})")
        );
        assert!(!verdict.eligible, "{class}");
    }
}

#[test]
fn near_misses_of_the_excluded_industries_pass() {
    for class in [
        "7020", "7090", "6920", "6930", "6940", "6319", "6313", "6321", "1710", "4430", "5632",
        "6513",
    ] {
        let facts = Facts {
            industry_code: class.to_owned(),
            ..enterprise()
        };
        let verdict = decide(&facts, Some(&standard_figures()));
        assert!(
            rule(&verdict, RuleId::IndustryNotExcluded).passed,
            "{class}"
        );
        assert!(verdict.eligible, "{class}");
    }
}

#[test]
fn a_review_industry_is_flagged_without_changing_eligibility() {
    let cases = [
        ("6920", true),
        ("6930", true),
        ("6940", true),
        ("6319", true),
        ("6921", false),
        ("7020", false),
    ];
    for (class, review) in cases {
        let facts = Facts {
            industry_code: class.to_owned(),
            ..enterprise()
        };
        let verdict = decide(&facts, Some(&standard_figures()));
        assert_eq!(verdict.needs_review, review, "{class}");
        assert!(verdict.eligible, "{class}");
        assert_eq!(
            rule(&verdict, RuleId::IndustryNotExcluded)
                .detail
                .contains("NEEDS_REVIEW"),
            review,
            "{class}"
        );
    }
}

#[test]
fn an_industry_code_that_is_not_a_four_digit_class_fails() {
    for class in ["", "72", "72111", "I721", "M7211"] {
        let facts = Facts {
            industry_code: class.to_owned(),
            ..enterprise()
        };
        let verdict = decide(&facts, Some(&standard_figures()));
        assert!(
            !rule(&verdict, RuleId::IndustryNotExcluded).passed,
            "{class:?}"
        );
        assert!(!verdict.needs_review);
    }
}

#[test]
fn provincial_municipal_and_district_soes_are_excluded_and_others_are_not() {
    let cases = [
        (Ownership::ProvincialSoe, false),
        (Ownership::MunicipalSoe, false),
        (Ownership::DistrictSoe, false),
        (Ownership::CentralSoe, true),
        (Ownership::OtherSoe, true),
        (Ownership::Private, true),
        (Ownership::Foreign, true),
        (Ownership::Collective, true),
        (Ownership::Other, true),
    ];
    for (ownership, passes) in cases {
        let facts = Facts {
            ownership,
            ..enterprise()
        };
        let verdict = decide(&facts, Some(&standard_figures()));
        assert_eq!(
            rule(&verdict, RuleId::NotExcludedSoe).passed,
            passes,
            "{ownership}"
        );
        assert_eq!(verdict.eligible, passes, "{ownership}");
    }
}

#[test]
fn an_enterprise_on_the_dishonesty_list_is_not_eligible() {
    let facts = Facts {
        dishonest: true,
        ..enterprise()
    };
    let verdict = decide(&facts, Some(&standard_figures()));
    assert!(!rule(&verdict, RuleId::NotDishonest).passed);
    assert!(!verdict.eligible);
    assert_eq!(verdict.route, None);
    assert_eq!(verdict.routes[0].failed, [RuleId::NotDishonest]);
}

#[test]
fn a_deemed_legal_person_passes_the_legal_person_rule() {
    let cases = [
        (true, false, true),
        (false, true, true),
        (true, true, true),
        (false, false, false),
    ];
    for (independent, deemed, passes) in cases {
        let facts = Facts {
            independent_legal_person: independent,
            deemed_legal_person: deemed,
            ..enterprise()
        };
        let verdict = decide(&facts, Some(&standard_figures()));
        assert_eq!(
            rule(&verdict, RuleId::LegalPerson).passed,
            passes,
            "{independent} {deemed}"
        );
        assert_eq!(verdict.eligible, passes);
    }
}

#[test]
fn each_basic_flag_is_required() {
    type Change = fn(&mut Facts);
    let variants: [(RuleId, Change); 4] = [
        (RuleId::IndustrialGuidance, |f| {
            f.industrial_guidance = false;
        }),
        (RuleId::RegisteredInHangzhou, |f| f.district_code = None),
        (RuleId::Operating, |f| f.operating = false),
        (RuleId::UnifiedAccounting, |f| f.unified_accounting = false),
    ];
    for (failing, change) in variants {
        let mut facts = enterprise();
        change(&mut facts);
        let verdict = decide(&facts, Some(&standard_figures()));
        assert!(!rule(&verdict, failing).passed, "{failing}");
        assert!(!verdict.eligible, "{failing}");
        assert!(verdict.failed.contains(&failing), "{failing}");
    }
}

fn decide_on(
    revocations: &[NaiveDate],
    year: i32,
    decided_on: &str,
    ban_years: u32,
) -> RecognitionVerdict {
    let params = RecognitionParams {
        ban_years,
        ..params()
    };
    decide_recognition(
        &original(),
        &enterprise(),
        Some(&standard_figures()),
        revocations,
        year,
        date(decided_on),
        &params,
    )
    .expect("in the policy period")
}

#[test]
fn decided_on_the_bans_anniversary_is_banned_and_the_day_after_is_not() {
    let revoked = [date("2023-06-15")];
    let cases = [
        ("2023-06-14", true, None),
        ("2023-06-15", false, Some("2025-06-15")),
        ("2025-06-15", false, Some("2025-06-15")),
        ("2025-06-16", true, None),
    ];
    for (decided, eligible, until) in cases {
        let verdict = decide_on(&revoked, 2025, decided, 2);
        assert_eq!(
            rule(&verdict, RuleId::NotBanned).passed,
            eligible,
            "{decided}"
        );
        assert_eq!(verdict.eligible, eligible, "{decided}");
        assert_eq!(verdict.ban_until, until.map(date), "{decided}");
    }
    let verdict = decide_on(&revoked, 2025, "2025-06-15", 2);
    assert_eq!(
        rule(&verdict, RuleId::NotBanned).detail,
        "title revoked on 2023-06-15: no recognition until 2025-06-15 inclusive (2 years), \
         possible again from 2025-06-16"
    );
    assert_eq!(verdict.route, None, "a banned enterprise gets no route");
    assert!(verdict.routes[0].passed, "its STANDARD rules still pass");
}

#[test]
fn a_ban_from_29_february_ends_on_28_february_unless_the_year_is_a_leap_year() {
    let revoked = [date("2024-02-29")];
    let cases = [
        (2, 2026, "2026-02-28", false),
        (2, 2026, "2026-03-01", true),
        (4, 2027, "2028-02-29", false),
        (4, 2027, "2028-03-01", true),
    ];
    for (years, year, decided, eligible) in cases {
        let verdict = decide_on(&revoked, year, decided, years);
        assert_eq!(verdict.eligible, eligible, "{years} years, {decided}");
    }
    assert_eq!(
        decide_on(&revoked, 2026, "2026-02-28", 2).ban_until,
        Some(date("2026-02-28"))
    );
    assert_eq!(
        decide_on(&revoked, 2027, "2028-02-29", 4).ban_until,
        Some(date("2028-02-29"))
    );
}

#[test]
fn with_several_revocations_the_latest_ban_end_counts() {
    let revoked = [date("2024-08-01"), date("2023-03-01")];
    let verdict = decide_on(&revoked, 2026, "2026-07-31", 2);
    assert!(!verdict.eligible);
    assert_eq!(verdict.ban_until, Some(date("2026-08-01")));
    let verdict = decide_on(&revoked, 2026, "2026-08-01", 2);
    assert!(!verdict.eligible);
    let verdict = decide_on(&revoked, 2026, "2026-08-02", 2);
    assert!(verdict.eligible);
    assert!(
        rule(&verdict, RuleId::NotBanned)
            .detail
            .contains("ended on 2026-08-01")
    );
}

/// Listed, with revenue far below every threshold.
fn listed(exchange: Option<&str>, in_hangzhou: bool) -> Facts {
    Facts {
        listing_exchange: exchange.map(str::to_owned),
        listed_entity_in_hangzhou: in_hangzhou,
        ..enterprise()
    }
}

#[test]
fn the_listed_route_needs_an_accepted_exchange_and_the_listed_entity_in_hangzhou() {
    let small = figures("10000000.00", "0");
    let cases = [
        (Some("HKEX"), true, true),
        (Some("SSE"), true, true),
        (Some("SZSE"), true, true),
        (Some("BSE"), true, true),
        (Some("NASDAQ"), true, true),
        (Some("NYSE"), true, true),
        (Some(" hkex "), true, true),
        (Some("LSE"), true, false),
        (Some("HKEX"), false, false),
        (None, true, false),
        (None, false, false),
    ];
    for (exchange, in_hangzhou, eligible) in cases {
        let verdict = decide(&listed(exchange, in_hangzhou), Some(&small));
        assert_eq!(verdict.eligible, eligible, "{exchange:?} {in_hangzhou}");
        assert_eq!(
            verdict.route,
            eligible.then_some(Route::Listed),
            "{exchange:?}"
        );
    }
    let verdict = decide(&listed(Some("LSE"), true), Some(&small));
    assert_eq!(
        rule(&verdict, RuleId::ListedOnAcceptedExchange).detail,
        "listed on LSE, not an accepted exchange (SSE, SZSE, BSE, HKEX, NASDAQ, NYSE)"
    );
    let verdict = decide(&listed(None, false), Some(&small));
    assert_eq!(
        rule(&verdict, RuleId::ListedOnAcceptedExchange).detail,
        "not listed"
    );
}

#[test]
fn missing_figures_fail_the_rules_that_need_them() {
    let verdict = decide(&rd_enterprise(), None);
    for id in [
        RuleId::RevenueThreshold,
        RuleId::RdMinSpend,
        RuleId::RdMinRatio,
    ] {
        let result = rule(&verdict, id);
        assert!(!result.passed, "{id}");
        assert_eq!(result.detail, "no figures for Y−1 (2023)", "{id}");
        assert_eq!(result.gap, None, "{id}");
    }
    assert!(!verdict.eligible);
}

#[test]
fn a_listed_enterprise_without_figures_is_still_eligible_by_the_listed_route() {
    let verdict = decide(&listed(Some("HKEX"), true), None);
    assert!(verdict.eligible);
    assert_eq!(verdict.route, Some(Route::Listed));
}

#[test]
fn the_first_passing_route_is_named() {
    let everything = Facts {
        rd_facilities: true,
        rd_stable_funding: true,
        listing_exchange: Some("SSE".to_owned()),
        listed_entity_in_hangzhou: true,
        ..enterprise()
    };
    let cases = [
        // Passes STANDARD and RD (and LISTED): STANDARD.
        ("1200000000.00", "130000000.00", Route::Standard),
        // Below the revenue threshold, passes RD and LISTED: RD.
        ("600000000.00", "60000000.00", Route::Rd),
        // Passes only LISTED.
        ("600000000.00", "1000.00", Route::Listed),
    ];
    for (revenue, rd, route) in cases {
        let verdict = decide(&everything, Some(&figures(revenue, rd)));
        assert_eq!(verdict.route, Some(route), "{revenue} {rd}");
        let passing: Vec<Route> = verdict
            .routes
            .iter()
            .filter(|r| r.passed)
            .map(|r| r.route)
            .collect();
        assert_eq!(passing.first(), Some(&route));
    }
}

#[test]
fn years_outside_2023_to_2027_are_refused_citing_the_closing_paragraph() {
    for (year, allowed) in [(2022, false), (2023, true), (2027, true), (2028, false)] {
        let outcome = decide_recognition(
            &original(),
            &enterprise(),
            Some(&standard_figures()),
            &[],
            year,
            date("2024-05-01"),
            &params(),
        );
        match outcome {
            Ok(verdict) => {
                assert!(allowed, "{year}");
                assert_eq!(verdict.year, year);
            }
            Err(error) => {
                assert!(!allowed, "{year}");
                assert_eq!(
                    error,
                    PolicyError::OutsidePolicyPeriod {
                        year,
                        first: 2023,
                        last: 2027
                    }
                );
                assert_eq!(error.clause(), Some(Clause::Final));
            }
        }
    }
}

#[test]
fn recognising_an_ineligible_enterprise_is_refused_listing_the_failed_rules() {
    let facts = Facts {
        outside_units: 1,
        ..enterprise()
    };
    let verdict = decide(&facts, Some(&figures("463000000.00", "0")));
    let error = verdict.ensure_eligible().expect_err("not eligible");
    let PolicyError::NotEligible { year, failed } = &error else {
        panic!("unexpected {error:?}");
    };
    assert_eq!(*year, 2024);
    assert_eq!(failed[0], RuleId::OutsideUnits);
    assert!(failed.contains(&RuleId::RevenueThreshold));
    assert!(error.to_string().contains("OUTSIDE_UNITS (§3.1)"));
}

#[test]
fn the_params_come_from_the_versions_in_force_and_are_recorded() {
    let set = ParameterSet::shipped_defaults();
    let params = RecognitionParams::from_set(&set, date("2024-05-01")).expect("complete");
    assert_eq!(params.revenue_threshold_existing, yuan("1000000000.00"));
    assert_eq!(params.revenue_threshold_new, yuan("500000000.00"));
    assert_eq!(params.existing_cutoff, date("2021-12-31"));
    assert_eq!(params.rd_min_spend, yuan("50000000.00"));
    assert_eq!(params.min_outside_units, 2);
    assert_eq!(params.ban_years, 2);
    assert_eq!(
        params.excluded_ownership,
        [
            Ownership::ProvincialSoe,
            Ownership::MunicipalSoe,
            Ownership::DistrictSoe
        ]
    );
    assert_eq!((params.first_year(), params.last_year()), (2023, 2027));
    assert_eq!(params.parameter_versions.len(), 13);
    let verdict = decide(&enterprise(), Some(&standard_figures()));
    assert_eq!(verdict.parameter_versions, params.parameter_versions);
}

#[test]
fn ownership_codes_round_trip() {
    for kind in Ownership::ALL {
        assert_eq!(kind.as_str().parse::<Ownership>(), Ok(kind));
        assert_eq!(
            serde_json::to_string(&kind).expect("json"),
            format!("\"{}\"", kind.as_str())
        );
    }
    assert!("central_soe".parse::<Ownership>().is_err());
}

#[test]
fn every_rule_id_and_route_round_trips_through_its_code() {
    crate::code::testing::assert_codes_round_trip(&RuleId::ALL, RuleId::as_str);
    crate::code::testing::assert_codes_round_trip(&Route::ALL, Route::as_str);
}

#[test]
fn the_verdict_serialises_with_stable_ids() {
    let facts = Facts {
        hangzhou_since: Some(date("2022-03-01")),
        ..enterprise()
    };
    let verdict = decide(&facts, Some(&figures("463000000.00", "0")));
    let json = serde_json::to_value(&verdict).expect("json");
    assert_eq!(json["rules"][10]["rule"], "REVENUE_THRESHOLD");
    assert_eq!(json["rules"][10]["clause"], "§3.2");
    assert_eq!(json["rules"][10]["gap"]["kind"], "MONEY");
    assert_eq!(json["rules"][10]["gap"]["value"], "37000000.00");
    assert_eq!(json["routes"][0]["route"], "STANDARD");
    let back: RecognitionVerdict = serde_json::from_value(json).expect("json");
    assert_eq!(back, verdict);
    let ids: Vec<String> = RuleId::ALL
        .iter()
        .map(|id| {
            serde_json::to_string(id)
                .expect("json")
                .trim_matches('"')
                .to_owned()
        })
        .collect();
    let as_str: Vec<&str> = RuleId::ALL.iter().map(|id| id.as_str()).collect();
    assert_eq!(ids, as_str);
    assert_eq!(
        as_str,
        [
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
        ]
    );
}

/// An amendment modelled on 杭政办〔2024〕1号, in force from 2024-03-01: the financial classes
/// (66, 67, 68, 691, 695, 699) leave `recognition.excluded_industries` and the SOE exclusion
/// (`NOT_EXCLUDED_SOE`) is dropped. The rule sets and every parameter version.
fn amended_2024() -> (Vec<RuleSet>, ParameterSet) {
    use crate::params::{ParamValue, ParameterVersion};
    let amended = original()
        .amend(crate::rule_set::Amendment {
            code: "HZ-2024-1".to_owned(),
            document: "杭政办〔2024〕1号".to_owned(),
            effective_from: date("2024-03-01"),
            effective_to: None,
            dropped: vec![RuleId::NotExcludedSoe],
            added: Vec::new(),
        })
        .expect("a valid amendment");
    let mut parameters = ParameterSet::shipped_defaults();
    let excluded = parameters
        .resolve("recognition.excluded_industries", None, date("2024-02-29"))
        .cloned()
        .expect("shipped");
    let without_finance = ["6311", "6312", "16", "441", "442", "5631", "7010"];
    parameters.push(ParameterVersion {
        id: 1000,
        valid_from: amended.effective_from,
        valid_to: amended.effective_to,
        value: ParamValue::List(without_finance.map(str::to_owned).to_vec()),
        reference: amended.document.clone(),
        placeholder: false,
        ..excluded
    });
    (vec![original(), amended], parameters)
}

/// The verdict for 2024 on `on`, under the rule set and parameters in force that day.
fn decided_around_the_amendment(facts: &Facts, on: &str) -> RecognitionVerdict {
    let (rule_sets, parameters) = amended_2024();
    let on = date(on);
    let rule_set = crate::rule_set::rule_set_on(&rule_sets, on).expect("a rule set in force");
    let params = RecognitionParams::from_set(&parameters, on).expect("complete parameters");
    decide_recognition(
        rule_set,
        facts,
        Some(&standard_figures()),
        &[],
        2024,
        on,
        &params,
    )
    .expect("2024 is in the policy period")
}

#[test]
fn a_municipal_soe_is_refused_the_day_before_the_amendment_and_eligible_from_its_date() {
    let soe = Facts {
        ownership: Ownership::MunicipalSoe,
        ..enterprise()
    };
    let cases = [
        ("2024-02-29", false, "HZ-2023-3"),
        ("2024-03-01", true, "HZ-2024-1"),
        ("2024-03-02", true, "HZ-2024-1"),
    ];
    for (on, eligible, rule_set) in cases {
        let verdict = decided_around_the_amendment(&soe, on);
        assert_eq!(verdict.eligible, eligible, "{on}");
        assert_eq!(verdict.rule_set, rule_set, "{on}");
        let (_, parameters) = amended_2024();
        let ownership = parameters
            .resolve("recognition.excluded_ownership", None, date(on))
            .map(|version| version.id)
            .expect("shipped");
        assert_eq!(
            verdict.parameter_versions.contains(&ownership),
            !eligible,
            "{on}: the SOE exclusion's list is cited only while the rule applies"
        );
        if eligible {
            assert_eq!(verdict.route, Some(Route::Standard), "{on}");
            assert_eq!(verdict.not_in_force, [RuleId::NotExcludedSoe], "{on}");
            assert!(verdict.rule(RuleId::NotExcludedSoe).is_none(), "{on}");
            assert!(!verdict.failed.contains(&RuleId::NotExcludedSoe), "{on}");
            assert!(
                verdict
                    .routes
                    .iter()
                    .all(|route| !route.failed.contains(&RuleId::NotExcludedSoe)),
                "{on}"
            );
        } else {
            assert!(verdict.not_in_force.is_empty(), "{on}");
            assert!(!rule(&verdict, RuleId::NotExcludedSoe).passed, "{on}");
            assert_eq!(
                verdict.routes[0].failed,
                [RuleId::NotExcludedSoe],
                "{on}: only the SOE exclusion stands in the way"
            );
        }
    }
}

#[test]
fn a_commercial_bank_is_refused_the_day_before_the_amendment_and_eligible_from_its_date() {
    let bank = Facts {
        industry_code: "6621".to_owned(),
        ..enterprise()
    };
    let cases = [
        ("2024-02-29", false, "HZ-2023-3"),
        ("2024-03-01", true, "HZ-2024-1"),
        ("2024-03-02", true, "HZ-2024-1"),
    ];
    for (on, eligible, rule_set) in cases {
        let verdict = decided_around_the_amendment(&bank, on);
        assert_eq!(verdict.eligible, eligible, "{on}");
        assert_eq!(verdict.rule_set, rule_set, "{on}");
        assert_eq!(
            rule(&verdict, RuleId::IndustryNotExcluded).passed,
            eligible,
            "{on}"
        );
    }
}

#[test]
fn the_amendment_does_not_touch_an_enterprise_it_does_not_concern() {
    for on in ["2024-02-29", "2024-03-01", "2024-03-02"] {
        let verdict = decided_around_the_amendment(&enterprise(), on);
        assert!(verdict.eligible, "{on}");
        assert_eq!(verdict.route, Some(Route::Standard), "{on}");
    }
}

#[test]
fn a_rule_set_without_the_listed_rules_offers_no_listed_route() {
    let mut rule_set = original();
    rule_set.rules.remove(&RuleId::ListedOnAcceptedExchange);
    rule_set.rules.remove(&RuleId::ListedEntityInHangzhou);
    let verdict = decide_recognition(
        &rule_set,
        &enterprise(),
        None,
        &[],
        2024,
        date("2024-05-01"),
        &params(),
    )
    .expect("2024 is in the policy period");
    let routes: Vec<Route> = verdict.routes.iter().map(|r| r.route).collect();
    assert_eq!(routes, [Route::Standard, Route::Rd]);
    assert!(!verdict.eligible);
    assert_eq!(
        verdict.not_in_force,
        [
            RuleId::ListedOnAcceptedExchange,
            RuleId::ListedEntityInHangzhou
        ]
    );
}
