//! HDF5 and EMD 1.0: reading files written by other software, discovery of the datacube,
//! clear errors on unusable datasets, and the writer's layout, atomicity and filter hook.

use std::path::Path;
use stemz_data::emd::{self, create_emd, find_cube_dataset, open_emd, STUDY_DATASET};
use stemz_data::h5::{list_cube_datasets, H5Reader, H5Writer};
use stemz_data::{CubeReader, CubeWriter, DType, Hyperslab};

mod common;

use common::realdata;

fn read_all(r: &mut dyn CubeReader) -> Vec<u8> {
    let mut out = vec![0u8; r.nbytes() as usize];
    r.read_slab(&Hyperslab::full(r.shape()), &mut out).unwrap();
    out
}

/// Create a dataset of an arbitrary stored type with raw HDF5 calls, filled from `data` given
/// in `mem_type`.
fn raw_dataset(
    file: &hdf5::File,
    name: &str,
    file_type: i64,
    mem_type: i64,
    dims: &[u64],
    data: &[u8],
) {
    let cname = std::ffi::CString::new(name).unwrap();
    // SAFETY: plain HDF5 calls on ids this test creates; pointers are to live locals.
    hdf5::sync::sync(|| unsafe {
        let space =
            hdf5_sys::h5s::H5Screate_simple(dims.len() as i32, dims.as_ptr(), std::ptr::null());
        let ds = hdf5_sys::h5d::H5Dcreate2(
            file.id(),
            cname.as_ptr(),
            file_type,
            space,
            hdf5_sys::h5p::H5P_DEFAULT,
            hdf5_sys::h5p::H5P_DEFAULT,
            hdf5_sys::h5p::H5P_DEFAULT,
        );
        assert!(ds >= 0);
        let st = hdf5_sys::h5d::H5Dwrite(
            ds,
            mem_type,
            hdf5_sys::h5s::H5S_ALL,
            hdf5_sys::h5s::H5S_ALL,
            hdf5_sys::h5p::H5P_DEFAULT,
            data.as_ptr().cast(),
        );
        assert!(st >= 0);
        hdf5_sys::h5d::H5Dclose(ds);
        hdf5_sys::h5s::H5Sclose(space);
    });
}

fn u16_bytes(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_ne_bytes()).collect()
}

#[test]
fn realdata_reads_the_emdfile_py4dstem_fixture_as_emd_1_0() {
    let path = realdata("py4DSTEM_size2x3x4x5.h5");
    let mut r = open_emd(&path, None, None).unwrap();
    assert_eq!(r.shape(), [2, 3, 4, 5]);
    assert_eq!(r.dtype(), DType::F32);
    let info = r.info();
    assert_eq!(info.format, "EMD 1.0");
    assert_eq!(
        info.dataset.as_deref(),
        Some("/datacube_root/datacube/data")
    );
    // A sub-slab equals the same region of the whole cube.
    let all = read_all(&mut r);
    let slab = Hyperslab {
        origin: [1, 1, 2, 0],
        extent: [1, 2, 2, 5],
    };
    let mut part = vec![0u8; slab.len() * 4];
    r.read_slab(&slab, &mut part).unwrap();
    let whole: &[f32] = bytemuck::cast_slice(&all);
    let got: Vec<f32> = part
        .chunks_exact(4)
        .map(|c| f32::from_ne_bytes(c.try_into().unwrap()))
        .collect();
    let mut want = Vec::new();
    for x in 1..3 {
        for qy in 2..4 {
            for qx in 0..5 {
                want.push(whole[((3 + x) * 4 + qy) * 5 + qx]);
            }
        }
    }
    assert_eq!(got, want);
}

#[test]
fn realdata_several_4d_datasets_are_an_error_listing_them_and_dataset_picks_one() {
    let path = realdata("Si100_4D.emd");
    let err = find_cube_dataset(&path).unwrap_err().to_string();
    assert!(err.contains("Si100_4D.emd"), "{err}");
    assert!(err.contains("--dataset"), "{err}");
    assert!(err.contains("CBED_array_depth0000/datacube"), "{err}");
    assert!(err.contains("CBED_array_depth0001/datacube"), "{err}");
    let ds = "/4DSTEM_simulation/data/datacubes/CBED_array_depth0000/datacube";
    let mut r = open_emd(&path, Some(ds), None).unwrap();
    assert_eq!(r.shape(), [11, 11, 8, 8]);
    assert_eq!(r.dtype(), DType::F32);
    assert_eq!(r.info().format, "EMD 0.5");
    let all = read_all(&mut r);
    assert!(bytemuck::cast_slice::<u8, f32>(&all)
        .iter()
        .any(|&v| v != 0.0));
}

#[test]
fn realdata_follows_the_arina_master_files_external_link_and_lists_foreign_filters() {
    let path = realdata("test_00_master.h5");
    realdata("test_00_data_000001.h5"); // where the master's external link leads
    let found = list_cube_datasets(&path).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].path, "/entry/data/data_000001");
    assert_eq!(found[0].shape, vec![16, 192, 192]);
    // As a frame stack with a scan shape.
    let r = open_emd(&path, None, Some((4, 4))).unwrap();
    assert_eq!(r.shape(), [4, 4, 192, 192]);
    assert_eq!(r.dtype(), DType::U32);
    let info = r.info();
    assert_eq!(info.format, "HDF5");
    assert!(info.chunks.is_some());
    assert!(
        info.filters
            .iter()
            .any(|f| f == "bitshuffle (32008) cd_values=[0, 3, 4, 0, 2]"),
        "{:?}",
        info.filters
    );
    // Without a scan shape, a 3D dataset is refused: frame stack or spectrum image is not guessed.
    let err = open_emd(&path, None, None).err().unwrap().to_string();
    assert!(
        err.contains("--scan") && err.contains("--spectrum-image"),
        "{err}"
    );
    let r = emd::open_emd_spectra(&path, None).unwrap();
    assert_eq!(r.shape(), [16, 192, 1, 192]);
    // A wrong scan shape is refused.
    let err = open_emd(&path, None, Some((3, 3)))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("16 frames"), "{err}");
}

#[test]
fn writer_round_trips_chunked_slabs_and_commits_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cube.emd");
    let shape = [3, 4, 5, 6];
    let values: Vec<u16> = (0..shape.iter().product::<usize>())
        .map(|i| (i * 7 % 5000) as u16)
        .collect();
    let bytes = u16_bytes(&values);
    let mut w = create_emd(&out, shape, DType::U16, Some([1, 2, 5, 6]), |_| Ok(())).unwrap();
    assert!(!out.exists(), "the final name appears only on finish");
    let frame = 5 * 6 * 2;
    for y in 0..3 {
        let slab = Hyperslab {
            origin: [y, 0, 0, 0],
            extent: [1, 4, 5, 6],
        };
        w.write_slab(&slab, &bytes[y * 4 * frame..(y + 1) * 4 * frame])
            .unwrap();
    }
    let done = Box::new(w).finish().unwrap();
    assert_eq!(done, out);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");

    let mut r = open_emd(&out, None, None).unwrap();
    assert_eq!(r.info().dataset.as_deref(), Some(STUDY_DATASET));
    assert_eq!(r.info().format, "EMD 1.0");
    assert_eq!(r.info().chunks, Some(vec![1, 2, 5, 6]));
    assert_eq!(read_all(&mut r), bytes);
}

#[test]
fn emd_layout_has_the_group_types_classes_and_axes_emdfile_expects() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("layout.emd");
    let w = create_emd(&out, [1, 1, 2, 2], DType::F32, None, |_| Ok(())).unwrap();
    Box::new(w).finish().unwrap();
    let f = hdf5::File::open(&out).unwrap();
    let s = |loc: &hdf5::Location, name: &str| -> String {
        loc.attr(name)
            .unwrap()
            .read_scalar::<hdf5::types::VarLenUnicode>()
            .unwrap()
            .to_string()
    };
    assert_eq!(s(&f, "emd_group_type"), "file");
    assert_eq!(
        f.attr("version_major")
            .unwrap()
            .read_scalar::<i64>()
            .unwrap(),
        1
    );
    assert_eq!(
        f.attr("version_minor")
            .unwrap()
            .read_scalar::<i64>()
            .unwrap(),
        0
    );
    for (g, kind, class) in [
        ("version_1", "root", "Root"),
        ("version_1/data", "node", "Node"),
        ("version_1/data/datacubes", "node", "Node"),
        ("version_1/data/datacubes/datacube_000", "array", "DataCube"),
    ] {
        let g = f.group(g).unwrap();
        assert_eq!(s(&g, "emd_group_type"), kind);
        assert_eq!(s(&g, "python_class"), class);
    }
    let ds = f.dataset(STUDY_DATASET).unwrap();
    assert_eq!(s(&ds, "units"), "pixel intensity");
    for (i, name) in ["Rx", "Ry", "Qx", "Qy"].iter().enumerate() {
        let d = f
            .dataset(&format!("version_1/data/datacubes/datacube_000/dim{i}"))
            .unwrap();
        assert_eq!(d.read_raw::<f64>().unwrap(), vec![0.0, 1.0]);
        assert_eq!(s(&d, "name"), *name);
    }
}

#[test]
fn unfinished_writer_leaves_no_file_behind() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("partial.h5");
    {
        let mut w =
            H5Writer::create(&out, "/a/b/cube", [2, 2, 2, 2], DType::U8, None, |_| Ok(())).unwrap();
        w.write_slab(
            &Hyperslab {
                origin: [0; 4],
                extent: [1, 2, 2, 2],
            },
            &[1; 8],
        )
        .unwrap();
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn configure_hook_sets_filters_on_the_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("deflate.h5");
    let shape = [2, 2, 8, 8];
    let data: Vec<u8> = (0..256).map(|i| (i % 3) as u8).collect();
    let mut w = H5Writer::create(&out, "cube", shape, DType::U8, Some([1, 1, 8, 8]), |dcpl| {
        // SAFETY: `dcpl` is the live list the writer passes to this hook.
        let st = hdf5::sync::sync(|| unsafe { hdf5_sys::h5p::H5Pset_deflate(dcpl, 4) });
        assert!(st >= 0);
        Ok(())
    })
    .unwrap();
    w.write_slab(&Hyperslab::full(shape), &data).unwrap();
    Box::new(w).finish().unwrap();
    let mut r = H5Reader::open(&out, "cube").unwrap();
    assert_eq!(
        r.info().filters,
        vec!["deflate (1) cd_values=[4]".to_owned()]
    );
    assert_eq!(read_all(&mut r), data);
}

#[test]
fn writer_refuses_a_missing_output_directory() {
    let err = H5Writer::create(
        Path::new("/nonexistent-dir-xyz/out.h5"),
        "d",
        [1, 1, 1, 1],
        DType::U8,
        None,
        |_| Ok(()),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn big_endian_stored_values_are_read_in_native_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("be.h5");
    let values: Vec<u16> = (0..16).map(|i| 1000 + i * 300).collect();
    {
        let f = hdf5::File::create(&path).unwrap();
        let (ft, mt) = hdf5::sync::sync(|| {
            (
                *hdf5_sys::h5t::H5T_STD_U16BE,
                *hdf5_sys::h5t::H5T_NATIVE_UINT16,
            )
        });
        raw_dataset(&f, "be", ft, mt, &[1, 1, 4, 4], &u16_bytes(&values));
    }
    let mut r = H5Reader::open(&path, "be").unwrap();
    assert_eq!(r.dtype(), DType::U16);
    assert_eq!(read_all(&mut r), u16_bytes(&values));
    assert!(r
        .info()
        .details
        .iter()
        .any(|(_, v)| v.contains("big-endian")));
}

#[test]
fn unusable_datasets_get_errors_naming_file_dataset_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.h5");
    {
        let f = hdf5::File::create(&path).unwrap();
        f.new_dataset::<u16>()
            .shape([4, 4])
            .create("rank2")
            .unwrap();
        f.new_dataset::<u16>()
            .shape([1, 1, 1, 2, 2])
            .create("rank5")
            .unwrap();
        f.new_dataset::<f64>()
            .shape([1, 1, 2, 2])
            .create("f64")
            .unwrap();
        f.new_dataset::<i64>()
            .shape([1, 1, 2, 2])
            .create("i64")
            .unwrap();
        // SAFETY: plain HDF5 calls on ids this test creates; pointers are to live locals.
        let complex = hdf5::sync::sync(|| unsafe {
            let t = hdf5_sys::h5t::H5Tcreate(hdf5_sys::h5t::H5T_class_t::H5T_COMPOUND, 8);
            let r = std::ffi::CString::new("r").unwrap();
            let i = std::ffi::CString::new("i").unwrap();
            hdf5_sys::h5t::H5Tinsert(t, r.as_ptr(), 0, *hdf5_sys::h5t::H5T_NATIVE_FLOAT);
            hdf5_sys::h5t::H5Tinsert(t, i.as_ptr(), 4, *hdf5_sys::h5t::H5T_NATIVE_FLOAT);
            t
        });
        raw_dataset(&f, "complex", complex, complex, &[1, 1, 1, 2], &[0u8; 16]);
    }
    let err = |ds: &str| H5Reader::open(&path, ds).err().unwrap().to_string();
    let e = err("rank2");
    assert!(
        e.contains("bad.h5") && e.contains("rank2") && e.contains("rank 2"),
        "{e}"
    );
    let e = err("rank5");
    assert!(e.contains("rank 5"), "{e}");
    assert!(err("f64").contains("float64"), "{}", err("f64"));
    assert!(err("i64").contains("int64"), "{}", err("i64"));
    assert!(err("complex").contains("complex"), "{}", err("complex"));
    assert!(err("missing").contains("missing"), "{}", err("missing"));
}

#[test]
fn no_cube_dataset_is_an_error_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flat.h5");
    {
        let f = hdf5::File::create(&path).unwrap();
        f.new_dataset::<u16>()
            .shape([4, 4])
            .create("image")
            .unwrap();
    }
    let e = emd::find_cube_dataset(&path).unwrap_err().to_string();
    assert!(e.contains("flat.h5") && e.contains("no 4D"), "{e}");
}

#[test]
fn spectrum_images_and_frame_stacks_map_to_four_axes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("three.h5");
    let values: Vec<u16> = (0..2 * 3 * 4).map(|i| i as u16).collect();
    {
        let f = hdf5::File::create(&path).unwrap();
        f.new_dataset_builder()
            .with_data(&values[..])
            .create("flat")
            .unwrap();
        let ds = f
            .new_dataset::<u16>()
            .shape([2, 3, 4])
            .create("si")
            .unwrap();
        ds.write_raw(&values).unwrap();
        let ds = f
            .new_dataset::<u16>()
            .shape([6, 2, 2])
            .create("stack")
            .unwrap();
        ds.write_raw(&values).unwrap();
    }
    assert!(
        H5Reader::open(&path, "si").is_err(),
        "a 3D dataset is not guessed"
    );
    let mut si = H5Reader::open_spectra(&path, "si").unwrap();
    assert_eq!(si.shape(), [2, 3, 1, 4]);
    assert_eq!(read_all(&mut si), u16_bytes(&values));
    let mut st = H5Reader::open_frames(&path, "stack", (2, 3)).unwrap();
    assert_eq!(st.shape(), [2, 3, 2, 2]);
    assert_eq!(read_all(&mut st), u16_bytes(&values));
    // A box crossing scan rows: frames (0,1),(0,2),(1,1),(1,2).
    let slab = Hyperslab {
        origin: [0, 1, 0, 0],
        extent: [2, 2, 2, 2],
    };
    let mut part = vec![0u8; slab.len() * 2];
    st.read_slab(&slab, &mut part).unwrap();
    let want: Vec<u16> = [1usize, 2, 4, 5]
        .iter()
        .flat_map(|f| (f * 4..f * 4 + 4).map(|v| v as u16))
        .collect();
    assert_eq!(part, u16_bytes(&want));
}
