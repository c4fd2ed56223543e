//! Files stemz writes stay readable by HDF5 1.10: the library writes with file-format bounds
//! (1.8, 1.10), so it never uses an object version newer than 1.10 reads. The bounds are not
//! stored in the file; what is stored, and checked here, are the version fields: the superblock
//! (2 at a 1.8 low bound; 1.10 reads 0-3) and the object headers (1 or 2).

use hdf5_sys::h5f::{H5F_info2_t, H5Fget_info2};
use hdf5_sys::h5o::{H5O_native_info_t, H5Oget_native_info_by_name, H5O_NATIVE_INFO_HDR};
use hdf5_sys::h5p::H5P_DEFAULT;
use std::ffi::CString;
use stemz_data::{CubeWriter, DType, Hyperslab};

#[test]
fn files_are_written_within_the_hdf5_1_10_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cube.emd");
    let shape = [2, 3, 8, 8];
    let mut w =
        stemz_data::emd::create_emd(&path, shape, DType::U16, Some([1, 1, 8, 8]), |_| Ok(()))
            .unwrap();
    let data = vec![7u8; 2 * 3 * 8 * 8 * 2];
    w.write_slab(&Hyperslab::full(shape), &data).unwrap();
    let path = Box::new(w).finish().unwrap();

    let file = hdf5::File::open(&path).unwrap();
    let id = file.id();
    let dataset = CString::new(stemz_data::emd::STUDY_DATASET).unwrap();
    hdf5::sync::sync(|| {
        // SAFETY: plain HDF5 calls on the open file's id with pointers to live locals; the
        // cast reads the first field of a repr(C) struct HDF5 filled in.
        unsafe {
            let mut info: H5F_info2_t = std::mem::zeroed();
            assert!(H5Fget_info2(id, &mut info) >= 0);
            assert!(
                info.super_.version == 2,
                "superblock version {} (the 1.8 format's is 2; HDF5 1.10 reads 0-3)",
                info.super_.version
            );
            let mut obj: H5O_native_info_t = std::mem::zeroed();
            assert!(
                H5Oget_native_info_by_name(
                    id,
                    dataset.as_ptr(),
                    &mut obj,
                    H5O_NATIVE_INFO_HDR,
                    H5P_DEFAULT
                ) >= 0
            );
            // hdf5-metno-sys keeps the struct's fields private; its first field is the header
            // info (`H5O_hdr_info_t`, repr(C)), whose first is the version, a c_uint.
            let version = *(&obj as *const H5O_native_info_t).cast::<std::ffi::c_uint>();
            assert!(version <= 2, "object header version {version}");
        }
    });
}
