//! Barnens bästa-ansvarig: the model's rule by example, the directory lookup, and the laws (one
//! responsible kind, or the preschool/BVC pair, for every child under 20; never the police).

use proptest::prelude::*;

use crate::responsibility::*;
use crate::{AuthorityKind as K, *};

fn d(y: i32, m: u8, day: u8) -> Date {
    Date::new(y, m, day).unwrap()
}

fn child(born: Date, schooling: Schooling) -> ChildFacts {
    ChildFacts {
        birth: Birth::Born(born),
        schooling,
    }
}

#[test]
fn the_seeds_rule_by_example() {
    let expected = ChildFacts {
        birth: Birth::Expected {
            year: 2025,
            month: 11,
        },
        schooling: Schooling::None,
    };
    let today = d(2025, 6, 1);
    assert_eq!(responsible_kinds(expected, today), &[K::MaternityCare]);
    assert_eq!(
        may_be_responsible(K::ChildHealthCare, expected, today),
        Err(NotResponsible::NotBornYet)
    );
    let baby = child(d(2025, 5, 1), Schooling::None);
    assert_eq!(responsible_kinds(baby, today), &[K::ChildHealthCare]);
    assert_eq!(
        may_be_responsible(K::Preschool, baby, today),
        Err(NotResponsible::NoPreschoolPlace)
    );
    let preschooler = child(d(2021, 3, 3), Schooling::Preschool);
    assert_eq!(
        responsible_kinds(preschooler, today),
        &[K::Preschool, K::ChildHealthCare]
    );
    let pupil = child(d(2015, 3, 3), Schooling::School);
    assert_eq!(responsible_kinds(pupil, today), &[K::School]);
    assert_eq!(
        may_be_responsible(K::ChildHealthCare, pupil, today)
            .unwrap_err()
            .code(),
        "school-started"
    );
    let dropped_out = child(d(2008, 3, 3), Schooling::LeftSchool);
    assert_eq!(
        responsible_kinds(dropped_out, today),
        &[K::ActivityResponsibility]
    );
    assert_eq!(
        may_be_responsible(K::School, dropped_out, today),
        Err(NotResponsible::LeftSchool)
    );
    for kind in [
        K::Police,
        K::Voluntary,
        K::SocialServices,
        K::ChildPsychiatry,
    ] {
        assert_eq!(
            may_be_responsible(kind, pupil, today),
            Err(NotResponsible::NeverResponsible { kind })
        );
    }
}

#[test]
fn handovers_fall_due_on_the_rules_dates() {
    let born = d(2019, 12, 31);
    // Maternity care hands over to BVC at birth.
    let t = transition_due(
        child(born, Schooling::None),
        K::MaternityCare,
        d(2020, 1, 5),
    )
    .unwrap();
    assert_eq!(
        (t.to, t.due, t.because.code()),
        (Some(K::ChildHealthCare), born, "born")
    );
    assert_eq!(
        transition_due(
            ChildFacts {
                birth: Birth::Expected {
                    year: 2020,
                    month: 1
                },
                schooling: Schooling::None
            },
            K::MaternityCare,
            d(2020, 1, 5)
        ),
        None
    );
    // Preschool hands over to school on 1 July of the year the child turns 6.
    let preschool = child(born, Schooling::Preschool);
    assert_eq!(school_start(born), d(2025, 7, 1));
    assert_eq!(
        transition_due(preschool, K::Preschool, d(2025, 6, 30)),
        None
    );
    let t = transition_due(preschool, K::Preschool, d(2025, 7, 1)).unwrap();
    assert_eq!((t.to, t.due), (Some(K::School), d(2025, 7, 1)));
    // An early starter is the principal's from the day the school status says so.
    let t = transition_due(
        child(born, Schooling::School),
        K::ChildHealthCare,
        d(2025, 3, 1),
    )
    .unwrap();
    assert_eq!(
        (t.to, t.due, t.because),
        (Some(K::School), d(2025, 3, 1), NotResponsible::AtSchool)
    );
    // School hands over to KAA when a young person past the compulsory years is not at school.
    assert_eq!(compulsory_school_end(born), d(2035, 7, 1));
    let never_started = child(born, Schooling::None);
    assert_eq!(
        transition_due(never_started, K::School, d(2035, 6, 30)),
        None
    );
    let t = transition_due(never_started, K::School, d(2035, 8, 10)).unwrap();
    assert_eq!(
        (t.to, t.due),
        (Some(K::ActivityResponsibility), d(2035, 7, 1))
    );
    let t = transition_due(child(born, Schooling::LeftSchool), K::School, d(2037, 2, 1)).unwrap();
    assert_eq!(
        (t.to, t.due, t.because),
        (
            Some(K::ActivityResponsibility),
            d(2037, 2, 1),
            NotResponsible::LeftSchool
        )
    );
    // KAA back to school when the young person starts upper secondary school again.
    let t = transition_due(
        child(born, Schooling::UpperSecondary),
        K::ActivityResponsibility,
        d(2037, 8, 20),
    )
    .unwrap();
    assert_eq!(t.to, Some(K::School));
    // KAA ends on the 20th birthday; nobody takes over.
    let t = transition_due(never_started, K::ActivityResponsibility, d(2040, 1, 2)).unwrap();
    assert_eq!(
        (t.to, t.due, t.because.code()),
        (None, d(2039, 12, 31), "turned-20")
    );
    // The police is never responsible; the handover is due today.
    let t = transition_due(child(born, Schooling::School), K::Police, d(2030, 1, 1)).unwrap();
    assert_eq!((t.to, t.due), (Some(K::School), d(2030, 1, 1)));
}

#[test]
fn schooling_not_said_is_read_from_the_age() {
    let today = d(2025, 6, 1);
    let unknown = |y, m| child(d(y, m, 15), Schooling::Unknown);
    assert_eq!(
        responsible_kinds(unknown(2024, 1), today),
        &[K::ChildHealthCare, K::Preschool]
    );
    assert_eq!(responsible_kinds(unknown(2015, 1), today), &[K::School]);
    assert_eq!(
        responsible_kinds(unknown(2008, 1), today),
        &[K::School, K::ActivityResponsibility]
    );
    assert!(responsible_kinds(unknown(2004, 1), today).is_empty());
    // A newborn whose schooling is not said goes from maternity care to BVC.
    let t = transition_due(unknown(2025, 5), K::MaternityCare, today).unwrap();
    assert_eq!((t.to, t.due), (Some(K::ChildHealthCare), d(2025, 5, 15)));
    // The school of a young person of 17 may hold it: not said is not "left".
    assert_eq!(
        may_be_responsible(K::School, unknown(2008, 1), today),
        Ok(())
    );
    assert_eq!(
        may_be_responsible(K::School, unknown(2022, 1), today),
        Err(NotResponsible::NotSchoolAge {
            from: d(2028, 7, 1)
        })
    );
}

#[test]
fn the_next_handover_falls_on_the_rules_day() {
    let born = d(2019, 12, 31);
    // BVC holds it until school starts.
    let t = next_transition(
        child(born, Schooling::None),
        K::ChildHealthCare,
        d(2020, 3, 1),
    )
    .unwrap();
    assert_eq!((t.to, t.due), (Some(K::School), d(2025, 7, 1)));
    // KAA until the 20th birthday, then nobody: the plan should close.
    let t = next_transition(
        child(born, Schooling::LeftSchool),
        K::ActivityResponsibility,
        d(2037, 1, 1),
    )
    .unwrap();
    assert_eq!((t.to, t.due), (None, d(2039, 12, 31)));
    // Already due: today's, with the day the rule changed.
    let t = next_transition(child(born, Schooling::School), K::Preschool, d(2026, 1, 1)).unwrap();
    assert_eq!(t.due, d(2025, 7, 1));
    // Maternity care before birth: nothing until the birth is recorded.
    let expected = ChildFacts {
        birth: Birth::Expected {
            year: 2026,
            month: 2,
        },
        schooling: Schooling::Unknown,
    };
    assert_eq!(
        next_transition(expected, K::MaternityCare, d(2025, 12, 1)),
        None
    );
    // A school child at upper secondary school: the school holds it for good.
    assert_eq!(
        next_transition(
            child(born, Schooling::UpperSecondary),
            K::School,
            d(2036, 1, 1)
        ),
        None
    );
}

#[test]
fn an_operators_exception_is_named_and_only_where_configured() {
    let dir = county();
    let pupil = child(d(2015, 3, 3), Schooling::School);
    let today = d(2025, 6, 1);
    let none = Exceptions::default();
    assert_eq!(
        responsible_unit(&dir, "vaxjo", "rektor-ost", Some(pupil), today, &none),
        Ok(Fits::Rule)
    );
    assert_eq!(
        responsible_unit(&dir, "vaxjo", "elevhalsa-ost", Some(pupil), today, &none),
        Err(NotResponsible::NeverResponsible {
            kind: K::StudentHealth
        })
    );
    // A unit the directory does not list is of kind other, which never is.
    assert_eq!(
        responsible_unit(&dir, "vaxjo", "okand", Some(pupil), today, &none),
        Err(NotResponsible::NeverResponsible { kind: K::Other })
    );
    let by_unit = Exceptions {
        units: [("vaxjo".to_string(), "elevhalsa-ost".to_string())].into(),
        ..Default::default()
    };
    assert_eq!(
        responsible_unit(&dir, "vaxjo", "elevhalsa-ost", Some(pupil), today, &by_unit),
        Ok(Fits::Exception(NotResponsible::NeverResponsible {
            kind: K::StudentHealth
        }))
    );
    assert!(responsible_unit(&dir, "vaxjo", "forskola-sol", Some(pupil), today, &by_unit).is_err());
    let by_kind = Exceptions {
        kinds: KindSet::EMPTY.with(K::Preschool),
        ..Default::default()
    };
    // Without the child's birth only whether the kind can ever hold it is known.
    assert_eq!(
        responsible_unit(&dir, "vaxjo", "forskola-sol", None, today, &none),
        Ok(Fits::Rule)
    );
    assert!(responsible_unit(&dir, "vaxjo", "elevhalsa-ost", None, today, &none).is_err());
    assert!(matches!(
        responsible_unit(&dir, "vaxjo", "forskola-sol", Some(pupil), today, &by_kind),
        Ok(Fits::Exception(NotResponsible::SchoolStarted { .. }))
    ));
}

fn county() -> Directory {
    let mut dir = Directory::new();
    for (id, org, kind) in [
        ("vaxjo-utbildning", "vaxjo", K::School),
        ("vaxjo-forskola", "vaxjo", K::Preschool),
        ("vaxjo-kaa", "vaxjo", K::ActivityResponsibility),
        ("vaxjo-elevhalsa", "vaxjo", K::StudentHealth),
        ("region-bvc", "region", K::ChildHealthCare),
        ("region-mvc", "region", K::MaternityCare),
    ] {
        dir.add_authority(Authority {
            id: id.into(),
            organization: org.into(),
            kind,
            name: id.into(),
        })
        .unwrap();
    }
    for (org, unit, authority, serves) in [
        (
            "vaxjo",
            "rektor-ost",
            "vaxjo-utbildning",
            vec![(ServiceKind::School, "11111111")],
        ),
        (
            "vaxjo",
            "elevhalsa-ost",
            "vaxjo-elevhalsa",
            vec![(ServiceKind::School, "11111111")],
        ),
        (
            "vaxjo",
            "forskola-sol",
            "vaxjo-forskola",
            vec![(ServiceKind::Preschool, "22222222")],
        ),
        (
            "vaxjo",
            "kaa",
            "vaxjo-kaa",
            vec![(ServiceKind::HomeMunicipality, "0780")],
        ),
        (
            "region",
            "bvc-teleborg",
            "region-bvc",
            vec![(ServiceKind::ChildHealthCentre, "SE-BVC-1")],
        ),
        (
            "region",
            "mvc-vaxjo",
            "region-mvc",
            vec![(ServiceKind::MaternityClinic, "SE-MVC-1")],
        ),
    ] {
        dir.add_unit(DirectoryUnit {
            organization: org.into(),
            unit: unit.into(),
            authority: authority.into(),
            serves: serves
                .into_iter()
                .map(|(kind, code)| ServiceUnit {
                    kind,
                    code: code.into(),
                })
                .collect(),
        })
        .unwrap();
    }
    dir
}

fn su(kind: ServiceKind, code: &str) -> ServiceUnit {
    ServiceUnit {
        kind,
        code: code.into(),
    }
}

#[test]
fn the_directory_answers_who_is_responsible_at_a_unit() {
    let dir = county();
    let r = bba_for_unit(&dir, &su(ServiceKind::School, "11111111")).unwrap();
    assert_eq!(
        (r.authority.id.as_str(), r.unit.unit.as_str()),
        ("vaxjo-utbildning", "rektor-ost")
    );
    assert_eq!(
        bba_for_unit(&dir, &su(ServiceKind::School, "99999999")),
        None
    );
    // A preschool's code asked as a school's is not the same unit.
    assert_eq!(
        bba_for_unit(&dir, &su(ServiceKind::School, "22222222")),
        None
    );

    let known = [
        su(ServiceKind::ChildHealthCentre, "SE-BVC-1"),
        su(ServiceKind::Preschool, "22222222"),
        su(ServiceKind::School, "11111111"),
        su(ServiceKind::HomeMunicipality, "0780"),
        su(ServiceKind::MaternityClinic, "SE-MVC-1"),
    ];
    let suggest = |c: ChildFacts, today: Date, known: &[ServiceUnit]| {
        suggest_responsible(&dir, c, today, known).map(|r| r.authority.id.clone())
    };
    let today = d(2025, 6, 1);
    let born = |y| d(y, 2, 2);
    let expected = ChildFacts {
        birth: Birth::Expected {
            year: 2025,
            month: 9,
        },
        schooling: Schooling::None,
    };
    assert_eq!(
        suggest(expected, today, &known).as_deref(),
        Some("region-mvc")
    );
    assert_eq!(
        suggest(child(born(2022), Schooling::Preschool), today, &known).as_deref(),
        Some("vaxjo-forskola")
    );
    // Without a known preschool, BVC.
    assert_eq!(
        suggest(child(born(2022), Schooling::Preschool), today, &known[..1]).as_deref(),
        Some("region-bvc")
    );
    assert_eq!(
        suggest(child(born(2014), Schooling::School), today, &known).as_deref(),
        Some("vaxjo-utbildning")
    );
    assert_eq!(
        suggest(child(born(2007), Schooling::LeftSchool), today, &known).as_deref(),
        Some("vaxjo-kaa")
    );
    assert_eq!(
        suggest(child(born(2014), Schooling::School), today, &known[..2]),
        None
    );
    assert_eq!(
        suggest(child(born(2004), Schooling::LeftSchool), today, &known),
        None
    );
}

fn arb_child() -> impl Strategy<Value = ChildFacts> {
    (
        prop_oneof![
            (2000i32..2030, 1u8..=12).prop_map(|(year, month)| Birth::Expected { year, month }),
            (-2_000i64..22_000).prop_map(|n| Birth::Born(Date::from_unix_day(n))),
        ],
        prop::sample::select(vec![
            Schooling::None,
            Schooling::Preschool,
            Schooling::School,
            Schooling::UpperSecondary,
            Schooling::LeftSchool,
            Schooling::Unknown,
        ]),
    )
        .prop_map(|(birth, schooling)| ChildFacts { birth, schooling })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// The two formulations agree, and the rule leaves no gap and no second owner: a child under
    /// 20 (or at school) has exactly one responsible kind, or the preschool/BVC pair; the police,
    /// voluntary organisations and the other participants never are.
    #[test]
    fn one_responsible_kind_for_every_child(c in arb_child(), t in 0i64..25_000) {
        let today = Date::from_unix_day(t);
        let kinds = responsible_kinds(c, today);
        for k in K::ALL {
            prop_assert_eq!(may_be_responsible(k, c, today).is_ok(), kinds.contains(&k), "{:?}", k);
        }
        prop_assert!(!kinds.contains(&K::Police) && !kinds.contains(&K::Voluntary));
        let at_school = matches!(c.schooling, Schooling::School | Schooling::UpperSecondary);
        let under_20 = c.birth.born_on().is_none_or(|b| today < b.anniversary(20));
        prop_assert_eq!(kinds.is_empty(), !under_20 && !at_school);
        let pair = kinds == [K::Preschool, K::ChildHealthCare]
            || kinds == [K::ChildHealthCare, K::Preschool]
            || (c.schooling == Schooling::Unknown && kinds == [K::School, K::ActivityResponsibility]);
        prop_assert!(kinds.len() == 1 || pair || kinds.is_empty());
    }

    /// A handover is due exactly when the current kind does not fit, it goes to the kind the
    /// model names, and it is never due after today.
    #[test]
    fn a_transition_leads_to_the_models_kind(c in arb_child(), t in 0i64..25_000, current in prop::sample::select(K::ALL.to_vec())) {
        let today = Date::from_unix_day(t);
        let due = transition_due(c, current, today);
        prop_assert_eq!(due.is_some(), may_be_responsible(current, c, today).is_err());
        if let Some(tr) = due {
            prop_assert!(tr.due <= today);
            prop_assert_eq!(tr.to, responsible_kinds(c, today).first().copied());
            prop_assert!(tr.to.is_none_or(|k| may_be_responsible(k, c, today).is_ok()));
        }
    }

    /// The next handover is the first day the current kind stops fitting: it fits every day
    /// before, and when none is found it fits on every day the rule can change.
    #[test]
    fn the_next_transition_is_the_first_day_the_kind_stops_fitting(c in arb_child(), from in 0i64..25_000, current in prop::sample::select(K::ALL.to_vec()), probe in 0i64..9000) {
        let from = Date::from_unix_day(from);
        match next_transition(c, current, from) {
            Some(t) if t.due > from => {
                prop_assert!(transition_due(c, current, t.due).is_some());
                let before = from.add_days(probe % (t.due.unix_day() - from.unix_day()));
                prop_assert_eq!(transition_due(c, current, before), None);
            }
            Some(t) => prop_assert_eq!(Some(t), transition_due(c, current, from)),
            None => {
                prop_assert_eq!(transition_due(c, current, from.add_days(probe)), None);
                if let Some(b) = c.birth.born_on() {
                    for d in [b, school_start(b), compulsory_school_end(b), b.anniversary(20)] {
                        prop_assert!(d <= from || transition_due(c, current, d).is_none());
                    }
                }
            }
        }
    }

    /// Not saying where the child is in school never lets a kind hold it that no schooling
    /// would, and at school age the school always may.
    #[test]
    fn unknown_schooling_is_read_from_the_age(born in -2_000i64..22_000, t in 0i64..25_000, kind in prop::sample::select(K::ALL.to_vec())) {
        let born = Date::from_unix_day(born);
        let today = Date::from_unix_day(t);
        let unknown = child(born, Schooling::Unknown);
        if may_be_responsible(kind, unknown, today).is_ok() {
            let some = [Schooling::None, Schooling::Preschool, Schooling::School, Schooling::UpperSecondary, Schooling::LeftSchool]
                .into_iter()
                .any(|s| may_be_responsible(kind, child(born, s), today).is_ok());
            prop_assert!(some);
        }
        if born <= today && (school_start(born)..compulsory_school_end(born)).contains(&today) {
            prop_assert_eq!(responsible_kinds(unknown, today), &[K::School]);
        }
    }

    /// The rule's dates are the birthday rules: school starts in the year the child turns 6 and
    /// the compulsory years end in the year it turns 16, both on 1 July.
    #[test]
    fn school_dates_follow_the_birth_year(n in -20_000i64..30_000) {
        let born = Date::from_unix_day(n);
        let start = school_start(born);
        prop_assert_eq!((start.month, start.day), (7, 1));
        prop_assert!(born.age_on(start) == 5 || born.age_on(start) == 6);
        prop_assert!(born.age_on(start.add_days(183)) == 6);
        let end = compulsory_school_end(born);
        prop_assert_eq!(end.year - start.year, 10);
    }
}
