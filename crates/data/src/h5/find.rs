//! Finding the datasets of a file that could be datacubes, and naming their filters.

use super::*;

/// A dataset that could be a datacube: 3D or 4D with a numeric element type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CubeCandidate {
    /// Absolute path inside the file, e.g. `/version_1/data/datacubes/datacube_000/data`.
    pub path: String,
    /// Shape as stored (3 or 4 axes).
    pub shape: Vec<usize>,
    /// Element type as HDF5 describes it (`uint16`, `float64`, ...).
    pub type_name: String,
}

impl CubeCandidate {
    pub fn rank(&self) -> usize {
        self.shape.len()
    }
}

/// Open an HDF5 file read-only, with a clear error when it is missing or not HDF5.
pub fn open_file(path: &Path) -> Result<hdf5::File> {
    if !path.exists() {
        return Err(DataError::format(path, "file does not exist"));
    }
    hdf5::File::open(path).map_err(|e| DataError::hdf5(path, format!("cannot open: {e}")))
}

/// Every 3D/4D dataset of a numeric type in the file, found by walking all groups (external
/// links included; dangling links are skipped), in name order.
pub fn list_cube_datasets(path: &Path) -> Result<Vec<CubeCandidate>> {
    Ok(list_3d_4d_datasets(path)?
        .into_iter()
        .filter_map(|(c, numeric)| numeric.then_some(c))
        .collect())
}

/// The 3D and 4D datasets whose element type stemz cannot read (complex, bool, compound,
/// strings), `type_name` saying what they hold: what to tell a user who finds no datacube.
pub fn list_unsupported_cube_datasets(path: &Path) -> Result<Vec<CubeCandidate>> {
    Ok(list_3d_4d_datasets(path)?
        .into_iter()
        .filter_map(|(c, numeric)| (!numeric).then_some(c))
        .collect())
}

fn list_3d_4d_datasets(path: &Path) -> Result<Vec<(CubeCandidate, bool)>> {
    let file = open_file(path)?;
    let root = file
        .group("/")
        .map_err(|e| DataError::hdf5(path, format!("cannot open root group: {e}")))?;
    let mut found = Vec::new();
    let mut visited = Vec::new();
    walk(&root, "", 0, &mut visited, &mut found);
    Ok(found)
}

/// Depth-first walk. `visited` holds (file number, object token) of groups already walked, so
/// hard-link cycles end; the depth limit guards against external-link cycles between files.
fn walk(
    group: &hdf5::Group,
    prefix: &str,
    depth: usize,
    visited: &mut Vec<(u64, hdf5::LocationToken)>,
    found: &mut Vec<(CubeCandidate, bool)>,
) {
    const MAX_DEPTH: usize = 32;
    if depth > MAX_DEPTH {
        return;
    }
    if let Ok(info) = group.loc_info() {
        let key = (info.fileno, info.token);
        if visited.contains(&key) {
            return;
        }
        visited.push(key);
    }
    let Ok(names) = group.member_names() else {
        return;
    };
    for name in names {
        let full = format!("{prefix}/{name}");
        match group.loc_type_by_name(&name) {
            Ok(hdf5::LocationType::Group) => {
                if let Ok(sub) = group.group(&name) {
                    walk(&sub, &full, depth + 1, visited, found);
                }
            }
            Ok(hdf5::LocationType::Dataset) => {
                let Ok(ds) = group.dataset(&name) else {
                    continue;
                };
                let shape = ds.shape();
                if !(3..=4).contains(&shape.len()) {
                    continue;
                }
                let Ok(desc) = ds.dtype().and_then(|t| t.to_descriptor()) else {
                    continue;
                };
                let numeric = matches!(
                    desc,
                    TypeDescriptor::Integer(_)
                        | TypeDescriptor::Unsigned(_)
                        | TypeDescriptor::Float(_)
                );
                found.push((
                    CubeCandidate {
                        path: full,
                        shape,
                        type_name: type_label(&desc),
                    },
                    numeric,
                ));
            }
            // Dangling external links and named datatypes are not datacubes.
            _ => {}
        }
    }
}

/// Known filter ids, so `inspect` can name filters HDF5 only knows by number.
fn filter_name(id: i32) -> Option<&'static str> {
    stemz_record::catalogue::filter::name(u32::try_from(id).ok()?)
}

/// The filter pipeline of a dataset-creation property list, as `name (id) cd_values=[...]`,
/// read with `H5Pget_filter2` so filters not registered in this process are still listed.
pub(super) fn describe_filters(dcpl: hid_t) -> Vec<String> {
    locked(|| {
        // SAFETY: `dcpl` is the dataset's live creation property list (the caller's contract).
        let n = unsafe { hdf5_sys::h5p::H5Pget_nfilters(dcpl) };
        let mut out = Vec::new();
        for idx in 0..n.max(0) {
            let mut flags = 0u32;
            let mut cd = [0u32; 32];
            let mut nelmts: usize = cd.len();
            let mut name = [0 as std::ffi::c_char; 256];
            let mut config = 0u32;
            // SAFETY: `name` and `config` are live buffers of the sizes passed; `i` < the filter count.
            let id = unsafe {
                hdf5_sys::h5p::H5Pget_filter2(
                    dcpl,
                    idx as u32,
                    &mut flags,
                    &mut nelmts,
                    cd.as_mut_ptr(),
                    name.len(),
                    name.as_mut_ptr(),
                    &mut config,
                )
            };
            if id < 0 {
                continue;
            }
            // SAFETY: H5Pget_filter2 NUL-terminates `name` within its 256 bytes.
            let stored = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }
                .to_string_lossy()
                .into_owned();
            // Stored names are often long ("bitshuffle; see https://..."): keep the first word.
            let short = filter_name(id).map(str::to_owned).unwrap_or_else(|| {
                let s = stored.split([';', ' ']).next().unwrap_or("").trim();
                if s.is_empty() {
                    "unknown".to_owned()
                } else {
                    s.to_owned()
                }
            });
            let values = &cd[..nelmts.min(cd.len())];
            out.push(format!("{short} ({id}) cd_values={values:?}"));
        }
        out
    })
}
