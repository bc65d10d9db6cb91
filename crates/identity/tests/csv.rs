//! `aloft resolve`: the CSV entry point end to end, through files.

use std::fs;
use std::path::PathBuf;

use aloft_identity::cli::{ResolveArgs, run};

/// A file in a directory of its own per test and process, so parallel tests never collide.
fn temp(test: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aloft-identity-{test}-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn resolves_a_file_with_aliases_mappings_and_a_warning() {
    let input = temp("resolve", "people.csv");
    let output = temp("resolve", "clusters.csv");
    fs::write(
        &input,
        "rec_id,First Name,Last Name,DOB,E-Mail,cust_no,notes\n\
         r1,Anna,Kowalski,1985-05-05,anna.k@example.com,,vip\n\
         r2,Ana,Kowalsky,05/05/1985,,LOT-991,\n\
         r3,Piotr,Nowak,1990-10-10,,,\n\
         r4,Anna,Kowalski,,,lot991,\n\
         r5,,,,,,empty row\n",
    )
    .unwrap();
    let args = ResolveArgs::new(&input, &output)
        .with_maps(&["cust_no=loyalty_number"])
        .unwrap();
    let summary = run(&args).unwrap();
    assert_eq!(summary.rows, 5);
    assert_eq!(summary.unrecognised, vec!["notes".to_owned()]);
    assert!(summary.warning().unwrap().contains("notes"));
    assert!(summary.to_string().contains("5 records"), "{summary}");

    let text = fs::read_to_string(&output).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "record_id,cluster_id");
    assert_eq!(lines.len(), 6, "one line per input row: {text}");
    let cluster = |id: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{id},")))
            .unwrap()
            .split(',')
            .nth(1)
            .unwrap()
            .to_owned()
    };
    assert_eq!(cluster("r1"), cluster("r2"), "typos and date layouts");
    assert_eq!(cluster("r2"), cluster("r4"), "loyalty number");
    assert_ne!(cluster("r1"), cluster("r3"));
    assert_ne!(cluster("r5"), cluster("r1"));
    assert_eq!(summary.clusters, 3);
    fs::remove_dir_all(input.parent().unwrap()).ok();
}

#[test]
fn bad_mappings_and_files_are_errors() {
    let input = temp("bad", "bad.csv");
    fs::write(&input, "colour,size\nred,9\n").unwrap();
    let output = temp("bad", "bad-out.csv");
    let err = run(&ResolveArgs::new(&input, &output)).unwrap_err();
    assert!(err.to_string().contains("no identifying column"), "{err}");
    assert!(
        ResolveArgs::new(&input, &output)
            .with_maps(&["colour"])
            .is_err()
    );
    let err = run(&ResolveArgs::new(&input, &output)
        .with_maps(&["colour=favourite"])
        .unwrap())
    .unwrap_err();
    assert!(err.to_string().contains("unknown role"), "{err}");
    assert!(run(&ResolveArgs::new(temp("bad", "missing.csv"), &output)).is_err());
    fs::remove_dir_all(input.parent().unwrap()).ok();
}
