//! Renderers of tables, figures and `paper/REPORT.md`. Pure: every renderer returns bytes; the
//! only file I/O is [`writer::write_or_check`], used by the `stemz-report` binary.
//!
//! [`Analysed`] bundles everything the renderers need from one set of records (the study's or a
//! stemz run's); [`render_all`] produces every artifact, each starting with a line naming its
//! generator. Figures embed the DejaVu Sans font from `assets/` so PNG output is byte-identical
//! on every machine.

pub mod beyond;
pub mod blosc2;
pub mod calibration;
pub mod figures;
pub mod markdown;
pub mod perf;
pub mod tables;
pub mod times;
pub mod writer;

use std::collections::BTreeMap;
use std::path::PathBuf;
use stemz_analysis::aggregate::{aggregate, primary, Aggregate};
use stemz_analysis::bounds::{entropy_bounds, EntropyBound};
use stemz_analysis::claims::ClaimNumbers;
use stemz_analysis::fit::{equation1_points, fit_power_law, PowerLawFit, STUDY_RATIO_DECIMALS};
use stemz_analysis::record::{DatasetRecord, Measurement};
use stemz_analysis::tables::{
    table1, table3, table4, table5, DatasetInfo, FamilySpec, MethodInfo, Table1Row, Table3Row,
    Table4Row, Table5Row,
};

/// The command that regenerates every artifact; named in every generated file.
pub const GENERATOR: &str = "cargo xtask report";

/// Errors of the report stage.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Analysis(#[from] stemz_analysis::AnalysisError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("figure {figure}: {message}")]
    Figure { figure: String, message: String },
    #[error("rendering {what}: {message}")]
    Render { what: String, message: String },
}

/// Result with [`ReportError`].
pub type Result<T> = std::result::Result<T, ReportError>;

/// What the caller knows that the records do not: labels and the static method catalogue.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub datasets: Vec<DatasetInfo>,
    pub methods: Vec<MethodInfo>,
    pub families: Vec<FamilySpec>,
    /// The dataset Table 5 summarises.
    pub table5_dataset: String,
}

impl Catalogue {
    /// The study's catalogue.
    pub fn study() -> Catalogue {
        Catalogue {
            datasets: stemz_analysis::study::dataset_infos(),
            methods: stemz_analysis::study::methods(),
            families: stemz_analysis::study::table4_families(),
            table5_dataset: stemz_analysis::study::TABLE5_DATASET.to_string(),
        }
    }
}

/// Everything derived from one set of records.
#[derive(Debug, Clone)]
pub struct Analysed {
    pub datasets: Vec<DatasetRecord>,
    /// Every configuration, including parallel / cold variants.
    pub all: Vec<Aggregate>,
    /// One aggregate per (dataset, method, chunking): what the tables use.
    pub primary: Vec<Aggregate>,
    pub table1: Vec<Table1Row>,
    pub table3: Vec<Table3Row>,
    pub table4: Vec<Table4Row>,
    pub table5: Vec<Table5Row>,
    /// Equation 1 fitted as the study did (ratios rounded to 2 decimals); `None` with fewer
    /// than three datasets.
    pub fit: Option<PowerLawFit>,
    pub bounds: Vec<EntropyBound>,
    pub claims: ClaimNumbers,
    /// Files (objects) of each (dataset, method, chunking)'s output, where the records say.
    pub objects: BTreeMap<(String, String, String), u64>,
}

impl Analysed {
    /// The highest-mean-ratio configuration of `method` on `dataset` (any chunking, primary
    /// aggregates).
    pub fn best_of(&self, dataset: &str, method: &str) -> Option<&Aggregate> {
        self.primary
            .iter()
            .filter(|a| a.dataset == dataset && a.method == method)
            .max_by(|a, b| a.ratio.mean.total_cmp(&b.ratio.mean))
    }

    /// The highest-mean-ratio HDF5 configuration of `dataset` (any chunking, primary
    /// aggregates), among the study's own methods when `only_study`, else among every method
    /// measured: the "study's best" and "stemz's best" of the report and of Figure 5.
    pub fn best_ratio(&self, dataset: &str, only_study: bool) -> Option<&Aggregate> {
        let study = stemz_analysis::study::methods();
        self.primary
            .iter()
            .filter(|a| a.dataset == dataset && a.is_hdf5())
            .filter(|a| !only_study || study.iter().any(|m| m.method == a.method))
            .max_by(|a, b| a.ratio.mean.total_cmp(&b.ratio.mean))
    }

    /// Analyse records.
    pub fn new(
        datasets: Vec<DatasetRecord>,
        rows: &[Measurement],
        cat: &Catalogue,
    ) -> Result<Analysed> {
        let all = aggregate(rows);
        let objects = rows
            .iter()
            .filter_map(|r| {
                let key = (r.dataset.clone(), r.method.clone(), r.chunking.clone());
                Some((key, r.objects?))
            })
            .collect();
        let primary = primary(&all);
        let t3 = table3(&primary, &datasets)?;
        let pts = equation1_points(&t3, STUDY_RATIO_DECIMALS);
        let fit = if pts.len() >= 3 {
            Some(fit_power_law(&pts)?)
        } else {
            None
        };
        Ok(Analysed {
            table1: table1(&datasets, &cat.datasets)?,
            table4: table4(&primary, &cat.families)?,
            table5: table5(&primary, &cat.table5_dataset)?,
            bounds: entropy_bounds(&datasets, &primary),
            claims: ClaimNumbers::compute(&primary),
            table3: t3,
            fit,
            datasets,
            all,
            primary,
            objects,
        })
    }
}

/// The tables and figures of one run on its own (no study beside it), as (path relative to
/// the run folder, bytes): what `stemz bench` leaves next to a user's records.
pub fn render_run(ours: &Analysed, cat: &Catalogue) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut out = Vec::new();
    for t in tables::all_tables(ours, cat) {
        out.push((PathBuf::from(format!("tables/{}.csv", t.name)), t.to_csv()?));
        out.push((
            PathBuf::from(format!("tables/{}.md", t.name)),
            t.to_markdown(),
        ));
        out.push((
            PathBuf::from(format!("tables/{}.tex", t.name)),
            t.to_latex(),
        ));
    }
    for f in figures::all_figures(ours)? {
        out.push((PathBuf::from(format!("figures/{}.svg", f.name)), f.svg));
        out.push((PathBuf::from(format!("figures/{}.png", f.name)), f.png));
    }
    Ok(out)
}

/// Every artifact, as (path relative to the workspace root, bytes). `study` is the reference,
/// `ours` the records being reported (the study itself when reproducing it). With `paper` (a
/// paper-scale run and its provenance), REPORT.md compares the study with it and keeps `ours`
/// as the quick check; tables and figures are drawn from `ours` either way.
pub fn render_all(
    study: &Analysed,
    ours: &Analysed,
    cat: &Catalogue,
    provenance: &[(String, String)],
    paper: Option<(&Analysed, &[(String, String)])>,
) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut out = Vec::new();
    for t in tables::all_tables(ours, cat) {
        out.push((
            PathBuf::from(format!("paper/tables/{}.csv", t.name)),
            t.to_csv()?,
        ));
        out.push((
            PathBuf::from(format!("paper/tables/{}.md", t.name)),
            t.to_markdown(),
        ));
        out.push((
            PathBuf::from(format!("paper/tables/{}.tex", t.name)),
            t.to_latex(),
        ));
    }
    let figs = figures::all_figures(ours)?;
    for f in &figs {
        out.push((
            PathBuf::from(format!("figures/{}.svg", f.name)),
            f.svg.clone(),
        ));
        out.push((
            PathBuf::from(format!("figures/{}.png", f.name)),
            f.png.clone(),
        ));
    }
    let names: Vec<&str> = figs.iter().map(|f| f.name.as_str()).collect();
    out.push((
        PathBuf::from("paper/REPORT.md"),
        match paper {
            None => markdown::report(study, ours, provenance, &names),
            Some((paper, paper_provenance)) => markdown::report_scales(
                study,
                paper,
                paper_provenance,
                Some(markdown::QuickCheck {
                    run: ours,
                    provenance,
                }),
                &names,
            ),
        }
        .into_bytes(),
    ));
    Ok(out)
}
