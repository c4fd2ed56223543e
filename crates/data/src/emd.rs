//! EMD 1.0 (the HDF5 layout of py4DSTEM / emdfile / rosettasciio): finding the datacube in
//! files written by other software, and writing the study's layout.
//!
//! Reading accepts the study's path `version_1/data/datacubes/datacube_000/data`, emdfile /
//! py4DSTEM ≥ 0.14 (`<root>/<name>/data` in a group with `python_class="DataCube"`), legacy
//! py4DSTEM ≤ 0.12 (`<top>/data/datacubes/<name>/data`), prismatic (`.../datacube`) and any
//! dataset given by path. Rather than a list of layouts, discovery takes the file's only 4D
//! dataset (else its only 3D one), so layouts we have not seen still work, and ambiguity is
//! reported with the candidates instead of guessed.
//!
//! Writing produces what emdfile writes for a `DataCube` (checked against files written by
//! py4DSTEM 0.14.18 / emdfile 0.0.16): variable-length UTF-8 string attributes,
//! `emd_group_type` on every group, axis datasets `dim0..dim3` as two-value linear axes.

use crate::cube::{DType, Shape4};
use crate::error::{DataError, Result};
use crate::h5::{list_cube_datasets, CubeCandidate, H5Reader, H5Writer};
use hdf5::types::VarLenUnicode;
use hdf5_sys::h5i::hid_t;
use std::path::Path;

/// Where the study (and `stemz convert`) puts the datacube.
pub const STUDY_DATASET: &str = "/version_1/data/datacubes/datacube_000/data";
const STUDY_GROUP: &str = "/version_1/data/datacubes/datacube_000";

/// Pick the datacube of an HDF5/EMD file: its only 4D dataset, else its only 3D one.
pub fn find_cube_dataset(path: &Path) -> Result<String> {
    let candidates = list_cube_datasets(path)?;
    let of_rank =
        |r: usize| -> Vec<&CubeCandidate> { candidates.iter().filter(|c| c.rank() == r).collect() };
    let list = |cs: &[&CubeCandidate]| {
        cs.iter()
            .map(|c| format!("{} {:?} {}", c.path, c.shape, c.type_name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for rank in [4, 3] {
        let cs = of_rank(rank);
        match cs.len() {
            0 => continue,
            1 => return Ok(cs[0].path.clone()),
            n => {
                return Err(DataError::format(
                    path,
                    format!(
                        "{n} {rank}D datasets could be the datacube; choose one with --dataset: {}",
                        list(&cs)
                    ),
                ))
            }
        }
    }
    let others = crate::h5::list_unsupported_cube_datasets(path)?;
    if !others.is_empty() {
        let names: Vec<String> = others
            .iter()
            .map(|c| format!("{} {:?} is {}", c.path, c.shape, c.type_name))
            .collect();
        return Err(DataError::format(
            path,
            format!(
                "no 4D datacube of a supported element type: {} (stemz reads uint8, uint16, \
                 uint32 and float32)",
                names.join(", ")
            ),
        ));
    }
    Err(DataError::format(
        path,
        "no 4D datacube (or 3D spectrum-image) dataset in this HDF5 file",
    ))
}

/// Open the datacube of an HDF5/EMD file: `dataset` if given, else the one
/// [`find_cube_dataset`] finds. With `scan`, a 3D frame stack is read as `(sy, sx, dy, dx)`.
pub fn open_emd(
    path: &Path,
    dataset: Option<&str>,
    scan: Option<(usize, usize)>,
) -> Result<H5Reader> {
    let ds = match dataset {
        Some(d) => d.to_owned(),
        None => find_cube_dataset(path)?,
    };
    match scan {
        Some(s) => H5Reader::open_frames(path, &ds, s),
        None => H5Reader::open(path, &ds),
    }
}

/// Open the 3D spectrum image `(sy, sx, E)` at `dataset` (default: the file's only candidate)
/// as the cube `(sy, sx, 1, E)`.
pub fn open_emd_spectra(path: &Path, dataset: Option<&str>) -> Result<H5Reader> {
    let ds = match dataset {
        Some(d) => d.to_owned(),
        None => find_cube_dataset(path)?,
    };
    H5Reader::open_spectra(path, &ds)
}

fn h5err<'a>(path: &'a Path, what: &str) -> impl Fn(hdf5::Error) -> DataError + 'a {
    let what = what.to_owned();
    move |e| DataError::hdf5(path, format!("{what}: {e}"))
}

fn vlstr(path: &Path, s: &str) -> Result<VarLenUnicode> {
    s.parse::<VarLenUnicode>()
        .map_err(|e| DataError::hdf5(path, format!("attribute text {s:?}: {e}")))
}

fn str_attr(path: &Path, loc: &hdf5::Location, name: &str, value: &str) -> Result<()> {
    let v = vlstr(path, value)?;
    loc.new_attr::<VarLenUnicode>()
        .create(name)
        .and_then(|a| a.write_scalar(&v))
        .map_err(h5err(path, &format!("writing attribute {name}")))
}

fn int_attr(path: &Path, loc: &hdf5::Location, name: &str, value: i64) -> Result<()> {
    loc.new_attr::<i64>()
        .create(name)
        .and_then(|a| a.write_scalar(&value))
        .map_err(h5err(path, &format!("writing attribute {name}")))
}

/// Groups and attributes of the EMD 1.0 tree around the datacube (everything but `data`), in a
/// new `file` (`path` names it in errors). Groups carry no timestamps, so two writes of the same
/// input are byte-identical files.
pub fn write_emd_tree(path: &Path, file: &hdf5::File) -> Result<()> {
    str_attr(path, file, "emd_group_type", "file")?;
    int_attr(path, file, "version_major", 1)?;
    int_attr(path, file, "version_minor", 0)?;
    str_attr(path, file, "authoring_program", "stemz")?;
    str_attr(path, file, "authoring_user", "")?;
    let mk = |parent: &hdf5::Group, name: &str, kind: &str, class: &str| -> Result<hdf5::Group> {
        let g = parent
            .create_group_builder()
            .obj_track_times(false)
            .create(name)
            .map_err(h5err(path, &format!("creating group {name}")))?;
        str_attr(path, &g, "emd_group_type", kind)?;
        str_attr(path, &g, "python_class", class)?;
        Ok(g)
    };
    let root = mk(file, "version_1", "root", "Root")?;
    let data = mk(&root, "data", "node", "Node")?;
    let cubes = mk(&data, "datacubes", "node", "Node")?;
    let cube = mk(&cubes, "datacube_000", "array", "DataCube")?;
    // emdfile's axis convention: dimN = [origin, origin + step] for a linear axis.
    for (i, name) in ["Rx", "Ry", "Qx", "Qy"].iter().enumerate() {
        let dim = format!("dim{i}");
        let ds = cube
            .new_dataset_builder()
            .with_data(&[0.0f64, 1.0][..])
            .create(dim.as_str())
            .map_err(h5err(path, &format!("writing {dim}")))?;
        str_attr(path, &ds, "name", name)?;
        str_attr(path, &ds, "units", "pixels")?;
    }
    Ok(())
}

/// A new EMD 1.0 file at `path` (written under a temporary name until `finish`) whose datacube
/// `data` is created at [`STUDY_DATASET`] with `chunks` and whatever filters `configure` sets on
/// the dataset-creation property list.
pub fn create_emd(
    path: &Path,
    shape: Shape4,
    dtype: DType,
    chunks: Option<Shape4>,
    configure: impl FnOnce(hid_t) -> Result<()>,
) -> Result<H5Writer> {
    let writer = H5Writer::create_with(
        path,
        STUDY_DATASET,
        shape,
        dtype,
        chunks,
        configure,
        |file| write_emd_tree(path, file),
    )?;
    if let Some(file) = writer.file() {
        label_datacube(path, file)?;
    }
    Ok(writer)
}

/// The datacube's own attributes, once [`STUDY_DATASET`] exists in `file`.
pub fn label_datacube(path: &Path, file: &hdf5::File) -> Result<()> {
    let ds = file
        .dataset(STUDY_DATASET)
        .map_err(h5err(path, "reopening the datacube"))?;
    str_attr(path, &ds, "units", "pixel intensity")?;
    debug_assert!(file.group(STUDY_GROUP).is_ok());
    Ok(())
}
