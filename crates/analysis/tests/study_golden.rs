//! Golden tests: fed the study's own records, the analysis reproduces its published statistics,
//! tables, Equation 1 and the abstract's write speed-up.

use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use stemz_analysis::aggregate::{aggregate, primary, Aggregate, Summary};
use stemz_analysis::claims::{compare, ClaimNumbers, ClaimValue};
use stemz_analysis::record::{DatasetRecord, Measurement};
use stemz_analysis::{bounds, fit, study, tables};

/// One of the study's published files, from the repository's `data/study/`.
fn open(name: &str) -> std::fs::File {
    let p = study::bundled_dir().join(name);
    std::fs::File::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn load() -> (Vec<DatasetRecord>, Vec<Measurement>, Vec<Aggregate>) {
    let ds = study::read_inventory(open("dataset_inventory.csv")).unwrap();
    let runs = study::read_runs(open("all_runs_combined.csv"), &ds).unwrap();
    let aggs = primary(&aggregate(&runs));
    (ds, runs, aggs)
}

fn published(name: &str) -> Vec<HashMap<String, String>> {
    let mut rdr = csv::Reader::from_reader(open(name));
    let h: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            h.iter().cloned().zip(r.iter().map(String::from)).collect()
        })
        .collect()
}

/// Relative 1e-9; near-zero spread statistics (std, CV of identical values, where pandas
/// leaves a ~1e-16 residue) compare with an absolute 1e-12.
fn check(what: &str, theirs: &str, ours: Option<f64>) {
    match (theirs.is_empty(), ours) {
        (true, None) => {}
        (true, Some(o)) => assert!(o.is_nan(), "{what}: study blank, ours {o}"),
        (false, None) => panic!("{what}: study {theirs}, ours missing"),
        (false, Some(o)) => {
            let t: f64 = theirs.parse().unwrap();
            let ok = (o - t).abs() <= 1e-9 * t.abs() || (o - t).abs() <= 1e-12;
            assert!(ok, "{what}: study {t}, ours {o}");
        }
    }
}

fn check_summary(what: &str, row: &HashMap<String, String>, col: &str, s: Option<Summary>) {
    let field = |suffix: &str| row[&format!("{col}_{suffix}")].clone();
    check(
        &format!("{what} {col} mean"),
        &field("mean"),
        s.map(|s| s.mean),
    );
    check(
        &format!("{what} {col} std"),
        &field("std"),
        s.map(|s| s.std),
    );
    check(
        &format!("{what} {col} min"),
        &field("min"),
        s.map(|s| s.min),
    );
    check(
        &format!("{what} {col} max"),
        &field("max"),
        s.map(|s| s.max),
    );
    check(
        &format!("{what} {col} median"),
        &field("median"),
        s.map(|s| s.median),
    );
    check(
        &format!("{what} {col} cv"),
        &field("cv_percent"),
        s.map(|s| s.cv_percent),
    );
}

#[test]
fn aggregation_reproduces_statistics_csv_value_by_value() {
    let (_, runs, aggs) = load();
    assert_eq!(runs.len(), 2100);
    let stats = published("statistics.csv");
    assert_eq!(aggs.len(), stats.len(), "one aggregate per published row");
    for row in &stats {
        let what = format!("{}/{}", row["dataset"], row["method"]);
        let a = aggs
            .iter()
            .find(|a| a.dataset == row["dataset"] && a.study_method() == row["method"])
            .unwrap_or_else(|| panic!("{what}: no aggregate"));
        assert_eq!(a.n_runs.to_string(), row["n_runs"], "{what}");
        let shape = study::parse_tuple(&row["chunk_size"])
            .map(|d| d.iter().map(u64::to_string).collect::<Vec<_>>().join("x"));
        assert_eq!(shape.unwrap_or_default(), a.chunk_shape, "{what} chunk");
        check_summary(&what, row, "compression_ratio", Some(a.ratio));
        check_summary(&what, row, "file_size_mb", Some(a.file_mib));
        check_summary(&what, row, "write_time", Some(a.write_s));
        check_summary(&what, row, "read_time", a.read_s);
        check_summary(&what, row, "write_throughput_gbs", a.write_gib_s);
        check_summary(&what, row, "read_throughput_gbs", a.read_gib_s);
    }
}

fn printed(x: f64, decimals: usize) -> String {
    format!("{x:.decimals$}")
}

#[test]
fn table1_matches_published_rows() {
    let (ds, _, _) = load();
    let rows = tables::table1(&ds, &study::dataset_infos()).unwrap();
    let pubd = published("Table1_datasets.csv");
    assert_eq!(rows.len(), pubd.len());
    for (r, p) in rows.iter().zip(&pubd) {
        assert_eq!(r.dataset, p["dataset"]);
        assert_eq!(study::format_tuple(&r.shape), p["shape"]);
        assert_eq!(printed(r.sparsity_pct, 3), p["sparsity_pct"]);
        assert_eq!(r.description, p["description"]);
    }
}

#[test]
fn table3_matches_published_best_per_dataset() {
    let (ds, _, aggs) = load();
    let rows = tables::table3(&aggs, &ds).unwrap();
    let pubd = published("Table3_dataset_summary.csv");
    assert_eq!(rows.len(), pubd.len());
    for (r, p) in rows.iter().zip(&pubd) {
        assert_eq!(r.dataset, p["dataset"]);
        assert_eq!(printed(r.size_gib, 6), p["size_gib"]);
        assert_eq!(printed(r.sparsity_pct, 3), p["sparsity_pct"]);
        assert_eq!(printed(r.best_ratio, 6), p["best_ratio"]);
        assert_eq!(r.implementation, p["implementation"]);
        assert_eq!(printed(r.file_size_mib, 6), p["file_size_mib"]);
    }
}

#[test]
fn table4_matches_published_family_means_over_balanced_rows() {
    let (_, _, aggs) = load();
    let rows = tables::table4(&aggs, &study::table4_families()).unwrap();
    let pubd = published("Table4_implementation_families.csv");
    assert_eq!(rows.len(), pubd.len());
    for (r, p) in rows.iter().zip(&pubd) {
        assert_eq!(r.family, p["family"]);
        assert_eq!(printed(r.mean_ratio, 6), p["mean_ratio"]);
        assert_eq!(printed(r.min_ratio, 6), p["min_ratio"]);
        assert_eq!(printed(r.max_ratio, 6), p["max_ratio"]);
        assert_eq!(printed(r.mean_write_s, 6), p["mean_write_s"]);
        assert_eq!(r.n_datasets, 5);
    }
}

#[test]
fn table5_matches_published_chunking_means_for_4d_diff() {
    let (_, _, aggs) = load();
    let rows = tables::table5(&aggs, study::TABLE5_DATASET).unwrap();
    let pubd = published("Table5_chunking_summary.csv");
    assert_eq!(rows.len(), pubd.len());
    for (r, p) in rows.iter().zip(&pubd) {
        assert_eq!(r.strategy, p["strategy"]);
        assert_eq!(study::format_tuple(&r.chunk_shape), p["chunk_size"]);
        assert_eq!(printed(r.mean_ratio, 6), p["mean_ratio"]);
        assert_eq!(printed(r.mean_write_gbs, 6), p["mean_write_gbs"]);
        assert_eq!(printed(r.mean_read_gbs, 6), p["mean_read_gbs"]);
        assert_eq!(r.n_methods.to_string(), p["n_methods"]);
    }
}

#[test]
fn equation1_fit_on_printed_ratios_reproduces_published_coefficients() {
    let (ds, _, aggs) = load();
    let rows = tables::table3(&aggs, &ds).unwrap();
    let pts = fit::equation1_points(&rows, fit::STUDY_RATIO_DECIMALS);
    let f = fit::fit_power_law(&pts).unwrap();
    eprintln!("{f:?}");
    // a is printed to 2 decimals, b and c to 3: agree at that precision (±0.001 on b, c, R²).
    assert!((f.a - 49.91).abs() <= 0.005, "a = {}", f.a);
    assert!((f.b - 6.908).abs() <= 0.001, "b = {}", f.b);
    assert!((f.c - 5.001).abs() <= 0.001, "c = {}", f.c);
    assert!(
        (f.r_squared - 0.9911).abs() <= 0.001,
        "R2 = {}",
        f.r_squared
    );
    assert!(f.se_a.is_finite() && f.se_a > 0.0);
}

#[test]
fn abstract_write_speedup_19_to_69_holds_on_study_records() {
    let (_, _, aggs) = load();
    let n = ClaimNumbers::compute(&aggs);
    let w = n.zstd_vs_gzip9_write_speedup.unwrap();
    eprintln!("{n:?}");
    assert!(
        (w.lo - 19.5).abs() < 0.5 && (w.hi - 68.6).abs() < 0.5,
        "{w:?}"
    );
    let claims = compare(&n, &n);
    assert!(claims.iter().all(|c| c.holds), "{claims:#?}");
    assert_eq!(n.best_ratio_method.as_deref(), Some("blosc_zlib"));
    assert!(matches!(claims[0].stated, ClaimValue::Range(_)));
}

#[test]
fn best_codec_stays_below_the_sparsity_only_bound() {
    let (ds, _, aggs) = load();
    let b = bounds::entropy_bounds(&ds, &aggs);
    assert_eq!(b.len(), 5);
    for e in &b {
        let f = e.fraction_of_sparsity_bound.unwrap();
        eprintln!(
            "{} bound {:.2} best {:.2} ({f:.3})",
            e.dataset,
            e.sparsity_bound,
            e.best_ratio.unwrap()
        );
        assert!(f > 0.0 && f.is_finite());
    }
}

#[test]
fn equation1_on_unrounded_ratios_lands_in_the_same_flat_valley() {
    let (ds, _, aggs) = load();
    let rows = tables::table3(&aggs, &ds).unwrap();
    let f = fit::fit_power_law(&fit::equation1_points(&rows, None)).unwrap();
    assert!(
        (f.b - 6.905).abs() < 0.002 && (f.c - 4.995).abs() < 0.002,
        "{f:?}"
    );
    assert!((f.r_squared - 0.9911).abs() <= 0.001);
}

/// The `| `file` | bytes | `sha256` |` rows of PROVENANCE.md's checksum table, by file name.
fn provenance_checksums(provenance: &str) -> BTreeMap<String, String> {
    provenance
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .trim()
                .strip_prefix('|')?
                .strip_suffix('|')?
                .split('|')
                .collect();
            let [file, _bytes, sha] = cells[..] else {
                return None;
            };
            let file = file.trim().strip_prefix('`')?.strip_suffix('`')?;
            let sha = sha.trim().strip_prefix('`')?.strip_suffix('`')?;
            let is_sha256 = sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit());
            is_sha256.then(|| (file.to_string(), sha.to_ascii_lowercase()))
        })
        .collect()
}

#[test]
fn study_records_match_their_provenance() {
    let dir = study::bundled_dir();
    let provenance = std::fs::read_to_string(dir.join("PROVENANCE.md"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join("PROVENANCE.md").display()));
    let listed = provenance_checksums(&provenance);
    let present: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name != "PROVENANCE.md")
        .collect();
    let listed_names: BTreeSet<String> = listed.keys().cloned().collect();
    assert_eq!(
        present, listed_names,
        "the files of data/study/ and the checksum table of its PROVENANCE.md differ"
    );
    for (name, want) in &listed {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let got: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            &got, want,
            "data/study/{name} differs from the published file its PROVENANCE.md names"
        );
    }
}

#[test]
fn the_provenance_table_parser_reads_rows_and_skips_everything_else() {
    let sha = "ab".repeat(32);
    let text = format!(
        "| file | bytes | SHA-256 |\n| --- | ---: | --- |\n| `a.csv` | 3 | `{sha}` |\n\
         | `b.csv` | 3 | `not-a-sha` |\n| `c.csv` | `{sha}` |\nprose `d.csv` {sha}\n"
    );
    let rows = provenance_checksums(&text);
    assert_eq!(
        rows.into_iter().collect::<Vec<_>>(),
        [("a.csv".to_string(), sha)]
    );
}
