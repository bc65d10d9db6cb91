//! Behaviour of the incremental resolver: deterministic keys, vetoes, shared contacts, stable
//! golden ids, explanations and reversible merges.

use aloft_identity::cluster::Veto;
use aloft_identity::{
    Address, Decision, DobVeto, GoldenId, LineageEvent, PersonRecord, Resolver, ResolverConfig,
    VetoPolicy,
};

fn person(id: &str, given: &str, surname: &str, dob: &str) -> PersonRecord {
    PersonRecord::new("crm", id)
        .with_name(given, surname)
        .with_dob(dob)
}

fn home(mut r: PersonRecord) -> PersonRecord {
    r.address = Address {
        line1: Some("12 Wallaby Place".into()),
        city: Some("Cleveland".into()),
        postcode: Some("4163".into()),
        state: Some("QLD".into()),
        country: Some("AU".into()),
        ..Address::default()
    };
    r
}

#[test]
fn typo_duplicate_matches_and_keeps_the_first_id() {
    let mut resolver = Resolver::default();
    let first = resolver
        .resolve(&home(person("1", "Isabelle", "Fitzgerald", "1980-04-09")))
        .unwrap();
    assert_eq!(first.decision, Decision::New);
    assert_eq!(first.golden_id, GoldenId(1));
    // A housemate: same address, nothing else. Never merged (at most offered for review).
    let other = resolver
        .resolve(&home(person("2", "Marcus", "Okonkwo", "1975-11-30")))
        .unwrap();
    assert!(
        !matches!(other.decision, Decision::Matched { .. }),
        "{:?}",
        other.decision
    );
    assert_eq!(other.golden_id, GoldenId(2));
    // Mistyped given name, day and month swapped, e-mail added.
    let dup = resolver
        .resolve(
            &home(person("3", "Isabel", "Fitzgerald", "1980-09-04")).with_email("isa@example.com"),
        )
        .unwrap();
    let Decision::Matched {
        weight,
        rule,
        explanation,
    } = &dup.decision
    else {
        panic!("{:?}", dup.decision)
    };
    assert!(*weight > 10.0 && rule.is_none());
    assert_eq!(dup.golden_id, GoldenId(1));
    let text = explanation.to_string();
    assert!(
        text.contains("given_name close") && text.contains("date_of_birth close"),
        "{text}"
    );
    assert_eq!(
        resolver.golden_id("crm", "2"),
        Some(GoldenId(2)),
        "unrelated profile untouched"
    );
    assert_eq!(resolver.members(GoldenId(1)).len(), 2);
}

#[test]
fn reservation_names_match_crm_names() {
    let mut resolver = Resolver::default();
    resolver
        .resolve(&person("1", "José", "Müller", "1990-01-02").with_email("jose.mueller@gmail.com"))
        .unwrap();
    let pnr = PersonRecord {
        full_name: Some("MUELLER/JOSEMR".into()),
        date_of_birth: Some("02JAN1990".into()),
        email: Some("Jose.Mueller+booking@GMAIL.com".into()),
        ..PersonRecord::new("pss", "ABC123-1")
    };
    let r = resolver.resolve(&pnr).unwrap();
    assert!(
        matches!(r.decision, Decision::Matched { .. }),
        "{:?}",
        r.decision
    );
    assert_eq!(r.golden_id, GoldenId(1));
}

#[test]
fn family_sharing_email_phone_and_address_stays_apart() {
    let mut resolver = Resolver::default();
    let family = [
        ("1", "John", "1970-03-14"),
        ("2", "Joan", "1972-07-01"),
        ("3", "Emily", "2005-12-24"),
        ("4", "Jack", "2008-05-05"),
    ];
    for (id, given, dob) in family {
        let r = home(person(id, given, "Smith", dob))
            .with_email("smiths@example.com")
            .with_phone("+61 7 3821 0000");
        let resolution = resolver.resolve(&r).unwrap();
        assert!(
            !matches!(resolution.decision, Decision::Matched { .. }),
            "{given}: {:?}",
            resolution.decision
        );
    }
    assert_eq!(resolver.profile_count(), 4);
    // The same family member again (nickname-free typo) still matches.
    let again = resolver
        .resolve(
            &home(person("5", "Emilly", "Smith", "2005-12-24")).with_email("smiths@example.com"),
        )
        .unwrap();
    assert_eq!(again.golden_id, resolver.golden_id("crm", "3").unwrap());
}

#[test]
fn corporate_booker_contact_never_merges_travellers() {
    let mut resolver = Resolver::default();
    let names = [
        "Alice Wong",
        "Bob Meyer",
        "Carla Diaz",
        "Deepak Rao",
        "Erik Berg",
        "Fatima Khan",
        "Gus Novak",
        "Hana Sato",
    ];
    for (i, name) in names.iter().enumerate() {
        let (given, surname) = name.split_once(' ').unwrap();
        let r = PersonRecord::new("pss", i.to_string())
            .with_name(given, surname)
            .with_email("travel.desk@bigcorp.example")
            .with_phone("+44 20 7946 0000");
        resolver.resolve(&r).unwrap();
    }
    assert_eq!(resolver.profile_count(), names.len());
}

#[test]
fn deterministic_keys_match_despite_weak_fields() {
    let mut resolver = Resolver::default();
    let mut a = person("1", "Robert", "Nguyen", "1960-02-02");
    a.loyalty_number = Some("QF 1234 5678".into());
    resolver.resolve(&a).unwrap();
    let mut b = PersonRecord::new("loyalty", "x9").with_name("Bob", "Nguyen");
    b.loyalty_number = Some("qf12345678".into());
    let r = resolver.resolve(&b).unwrap();
    let Decision::Matched { rule, .. } = r.decision else {
        panic!("{:?}", r.decision)
    };
    assert_eq!(rule.map(|r| r.name()), Some("loyalty_number"));
}

#[test]
fn different_passports_veto_even_a_deterministic_match() {
    let mut resolver = Resolver::default();
    let mut a = person("1", "Anna", "Kowalski", "1985-05-05");
    a.loyalty_number = Some("LH123".into());
    a.passport_number = Some("X1234567".into());
    a.nationality = Some("PL".into());
    resolver.resolve(&a).unwrap();
    let mut b = a.clone();
    b.record_id = "2".into();
    b.passport_number = Some("Y7654321".into());
    let r = resolver.resolve(&b).unwrap();
    let Decision::Review { candidates } = &r.decision else {
        panic!("{:?}", r.decision)
    };
    assert_eq!(candidates[0].veto, Some(Veto::DifferentPassport));
    assert_ne!(r.golden_id, GoldenId(1));
}

#[test]
fn verified_dates_of_birth_veto_and_the_strict_policy_vetoes_all() {
    let base = |id: &str, dob: &str, verified: bool| {
        let mut r = home(person(id, "Wei", "Zhang", dob)).with_email("wei.zhang@example.com");
        r.dob_verified = verified;
        r
    };
    // Self-declared: a different date only weighs, the rest of the evidence wins.
    let mut resolver = Resolver::default();
    resolver.resolve(&base("1", "1980-01-01", false)).unwrap();
    assert!(matches!(
        resolver
            .resolve(&base("2", "1992-06-17", false))
            .unwrap()
            .decision,
        Decision::Matched { .. }
    ));
    // Both read from passports: never merged.
    let mut resolver = Resolver::default();
    resolver.resolve(&base("1", "1980-01-01", true)).unwrap();
    let r = resolver.resolve(&base("2", "1992-06-17", true)).unwrap();
    assert!(
        matches!(&r.decision, Decision::Review { candidates } if candidates[0].veto == Some(Veto::DifferentVerifiedDob))
    );
    // Strict policy: any two different dates veto.
    let config = ResolverConfig {
        veto: VetoPolicy {
            dob: DobVeto::Always,
            one_per_source: false,
        },
        ..ResolverConfig::default()
    };
    let mut resolver = Resolver::new(config);
    resolver.resolve(&base("1", "1980-01-01", false)).unwrap();
    assert!(!matches!(
        resolver
            .resolve(&base("2", "1992-06-17", false))
            .unwrap()
            .decision,
        Decision::Matched { .. }
    ));
}

#[test]
fn bridging_record_merges_to_the_oldest_id_and_unmerge_restores_both() {
    let mut resolver = Resolver::default();
    let mut a = person("a", "Li", "Chen", "1979-09-09");
    a.loyalty_number = Some("CX777".into());
    // Document-only records: nothing in common with `a` but what the bridge will bring.
    let mut b = PersonRecord::new("apis", "b").with_dob("1979-09-09");
    b.passport_number = Some("E1234567".into());
    b.nationality = Some("CN".into());
    let mut b2 = PersonRecord::new("apis", "b2");
    b2.passport_number = Some("E1234567".into());
    b2.nationality = Some("CN".into());
    assert_eq!(resolver.resolve(&a).unwrap().golden_id, GoldenId(1));
    assert_eq!(
        resolver.resolve(&b).unwrap().golden_id,
        GoldenId(2),
        "no shared key with a: a new profile"
    );
    assert_eq!(resolver.resolve(&b2).unwrap().golden_id, GoldenId(2));
    // A record carrying both keys bridges the two profiles; the older id survives.
    let mut bridge = PersonRecord::new("crm", "c").with_name("Li", "Chen");
    bridge.loyalty_number = Some("CX777".into());
    bridge.passport_number = Some("E1234567".into());
    bridge.nationality = Some("CN".into());
    let r = resolver.resolve(&bridge).unwrap();
    assert_eq!(r.golden_id, GoldenId(1));
    assert_eq!(r.absorbed, vec![GoldenId(2)]);
    assert_eq!(resolver.golden_id("apis", "b2"), Some(GoldenId(1)));
    assert_eq!(resolver.members(GoldenId(1)).len(), 4);

    // Unmerge the bridge: both earlier profiles come back with their ids and records.
    let u = resolver.unmerge("crm", "c").unwrap();
    assert_eq!(u.from, GoldenId(1));
    assert_eq!(u.record_golden, GoldenId(4));
    assert_eq!(u.restored, vec![GoldenId(1), GoldenId(2)]);
    assert_eq!(resolver.golden_id("apis", "b"), Some(GoldenId(2)));
    assert_eq!(resolver.golden_id("apis", "b2"), Some(GoldenId(2)));
    assert_eq!(resolver.golden_id("crm", "a"), Some(GoldenId(1)));

    // The lineage of profile 2 tells the whole story.
    let history = resolver.lineage(GoldenId(2));
    assert!(matches!(history[0], LineageEvent::Created { .. }));
    assert!(history.iter().any(|e| matches!(
        e,
        LineageEvent::Merged {
            survivor: GoldenId(1),
            absorbed: GoldenId(2),
            ..
        }
    )));
    assert!(matches!(
        history.last(),
        Some(LineageEvent::Unmerged { .. })
    ));
    // The split-off record may not rejoin automatically.
    let again = resolver
        .resolve(&PersonRecord {
            record_id: "c2".into(),
            ..bridge.clone()
        })
        .unwrap();
    assert_eq!(
        again.golden_id,
        GoldenId(1),
        "a new copy of the record still matches"
    );
}

#[test]
fn errors_for_duplicates_and_unknown_records() {
    let mut resolver = Resolver::default();
    resolver
        .resolve(&person("1", "A", "B", "2000-01-01"))
        .unwrap();
    assert!(
        resolver
            .resolve(&person("1", "A", "B", "2000-01-01"))
            .is_err()
    );
    assert!(resolver.unmerge("crm", "nope").is_err());
}
