//! `stemz methods`: the compression methods with their HDF5 filter ids and the cd_values
//! h5py + hdf5plugin leave stored in the file.

use anyhow::Result;
use serde::Serialize;
use stemz_codecs::{Chunking, Method};
use stemz_data::DType;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The example the cd_values column is computed for (they depend on element size and chunk).
const EXAMPLE_CUBE: [usize; 4] = [256, 256, 256, 256];
const EXAMPLE_DTYPE: DType = DType::U16;

#[derive(Debug, Serialize)]
struct Row {
    name: &'static str,
    family: &'static str,
    /// HDF5 filter id; absent for `none` and the non-HDF5 methods.
    filter_id: Option<u32>,
    filter: Option<&'static str>,
    /// cd_values stored in the file for a uint16 cube chunked 16x16x128x128 (balanced on 256^4).
    stored_cd_values: Option<Vec<u32>>,
    hdf5: bool,
    /// Zarr methods: the inner chunks' bytes-to-bytes codec, as zarr.json spells it.
    zarr_codec: Option<serde_json::Value>,
    in_study: bool,
}

fn rows() -> Vec<Row> {
    let chunk = Chunking::Balanced.shape(EXAMPLE_CUBE);
    Method::all()
        .into_iter()
        .map(|m| {
            let f = m.filter();
            Row {
                name: m.name(),
                family: m.family(),
                filter_id: f.as_ref().map(|f| f.id()),
                filter: f.as_ref().map(|f| f.name()),
                stored_cd_values: f
                    .as_ref()
                    .and_then(|f| f.stored_cd_values(EXAMPLE_DTYPE.itemsize(), &chunk)),
                hdf5: m.is_hdf5(),
                zarr_codec: m.zarr_codec().map(|c| c.metadata(EXAMPLE_DTYPE)),
                in_study: m.in_study(),
            }
        })
        .collect()
}

/// `blosc zstd/3/bitshuffle` or `zstd 3`: a Zarr codec in a table cell.
fn zarr_summary(codec: &serde_json::Value) -> String {
    let c = &codec["configuration"];
    match codec["name"].as_str() {
        Some("blosc") => format!(
            "blosc {}/{}/{}",
            c["cname"].as_str().unwrap_or("?"),
            c["clevel"],
            c["shuffle"].as_str().unwrap_or("?")
        ),
        Some(name) => format!("{name} {}", c["level"]),
        None => "?".into(),
    }
}

pub fn run(args: Args) -> Result<()> {
    let rows = rows();
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let cd_title = "stored cd_values (uint16, 16x16x128x128)";
    outln!(
        "{:<22} {:<15} {:>6}  {cd_title:<40} source",
        "method",
        "family",
        "filter"
    );
    for r in &rows {
        let id = r.filter_id.map_or("-".to_string(), |i| i.to_string());
        let cd = match (&r.stored_cd_values, r.hdf5, &r.zarr_codec) {
            (Some(v), _, _) => format!("{v:?}"),
            (None, true, _) => "(chunked, no filter)".to_string(),
            (None, false, Some(c)) => format!("(Zarr v3 store) {}", zarr_summary(c)),
            (None, false, None) => "(own file format)".to_string(),
        };
        let src = if r.in_study { "study" } else { "new" };
        outln!(
            "{:<22} {:<15} {:>6}  {:<40} {src}",
            r.name,
            r.family,
            id,
            cd
        );
    }
    Ok(())
}
