//! The proving key's polynomials on the quotient's cosets, precomputed: `pk.cosets`.
//!
//! A proof evaluates its quotient on `parts` cosets of the circuit's domain (4 for every
//! zkinfer circuit: the lookups have degree 5), and on each one halo2 brings every fixed
//! column, the three Lagrange polynomials and the copy argument's permutation polynomials
//! there by one FFT each: the same values in every proof, a third of a large circuit's
//! proving time. `zkinfer setup --precompute-cosets` writes them once, and `zkinfer prove`
//! reads them from the keys' directory instead of computing them. The file is large (for a
//! GPT-2 small block, 56 polynomials × 4 cosets × 2^20 values × 32 bytes: 7.5 GB), so it is
//! opt-in; a proof never holds more than one coset of it in memory.
//!
//! Layout: `ZKCOSETS`, the format version (u32, little-endian), then the values part by
//! part, polynomial by polynomial (fixed columns, `l0`, `l_last`, `l_active_row`,
//! permutations), 32 bytes each in the field's internal form; then the JSON
//! [`CosetsHeader`], its length (u64) and `ZKCOSETS` again. The header names the verifying
//! key the file belongs to and a SHA-256 digest per polynomial, checked as each is read.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use halo2_axiom::halo2curves::bn256::{Fr, G1Affine};
use halo2_axiom::halo2curves::serde::SerdeObject;
use halo2_axiom::plonk::{KeyCosetSource, KeyCosets, ProvingKey};
use halo2_axiom::poly::{LagrangeCoeff, Polynomial};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ProveError;

/// The file beside `pk.bin` that holds its cosets.
pub const COSETS_FILE: &str = "pk.cosets";
const MAGIC: &[u8; 8] = b"ZKCOSETS";
/// Version of the layout above.
pub const COSETS_VERSION: u32 = 1;
const VALUE_BYTES: usize = 32;
/// Bytes read at a time (a multiple of `VALUE_BYTES`).
const READ_CHUNK: usize = 1 << 20;

/// What `pk.cosets` holds, and for which key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CosetsHeader {
    /// The verifying key's digest (`KeyHeader::vk_digest`): the fixed columns and the
    /// permutation are those it commits to.
    pub vk_digest: String,
    pub k: u32,
    pub parts: usize,
    pub fixed: usize,
    pub permutation: usize,
    /// SHA-256 of each polynomial's bytes, part by part in the file's order.
    pub digests: Vec<String>,
}

impl CosetsHeader {
    fn polys_per_part(&self) -> usize {
        self.fixed + 3 + self.permutation
    }

    fn poly_bytes(&self) -> u64 {
        (VALUE_BYTES as u64) << self.k
    }

    /// Bytes of the values: everything between the version and the header.
    fn body_bytes(&self) -> u64 {
        (self.parts * self.polys_per_part()) as u64 * self.poly_bytes()
    }
}

fn cosets_error(path: &Path, reason: impl Into<String>) -> ProveError {
    ProveError::Key {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn poly_bytes(poly: &Polynomial<Fr, LagrangeCoeff>) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(poly.len() * VALUE_BYTES);
    for v in poly.iter() {
        v.write_raw(&mut bytes)?;
    }
    Ok(bytes)
}

/// Computes `pk`'s cosets and writes them to `path`, one coset in memory at a time; the
/// file is written under a temporary name and renamed when complete.
pub fn write_cosets(
    pk: &ProvingKey<G1Affine>,
    vk_digest: &str,
    path: &Path,
) -> Result<(), ProveError> {
    let io = |source| zkinfer_ir::IrError::Io {
        path: path.display().to_string(),
        source,
    };
    let partial = path.with_extension("cosets.partial");
    let mut out = BufWriter::with_capacity(1 << 22, File::create(&partial).map_err(io)?);
    out.write_all(MAGIC).map_err(io)?;
    out.write_all(&COSETS_VERSION.to_le_bytes()).map_err(io)?;
    let parts = pk.num_extended_parts();
    let mut digests = Vec::new();
    for part in 0..parts {
        let cosets = pk.compute_key_cosets(part);
        let polys: Vec<_> = cosets.polys().collect();
        // Two polynomials' bytes at a time: digested in parallel, then written.
        for pair in polys.chunks(2) {
            let encoded = pair
                .par_iter()
                .map(|p| poly_bytes(p).map(|b| (sha256_hex(&b), b)))
                .collect::<io::Result<Vec<_>>>()
                .map_err(io)?;
            for (digest, b) in encoded {
                out.write_all(&b).map_err(io)?;
                digests.push(digest);
            }
        }
    }
    let header = CosetsHeader {
        vk_digest: vk_digest.to_owned(),
        k: pk.get_vk().get_domain().k(),
        parts,
        fixed: pk.fixed_polys().len(),
        permutation: pk.permutation().polys().len(),
        digests,
    };
    let json = serde_json::to_vec(&header).map_err(|e| cosets_error(path, e.to_string()))?;
    out.write_all(&json).map_err(io)?;
    out.write_all(&(json.len() as u64).to_le_bytes())
        .map_err(io)?;
    out.write_all(MAGIC).map_err(io)?;
    out.into_inner()
        .map_err(|e| io(e.into_error()))?
        .sync_all()
        .map_err(io)?;
    std::fs::rename(&partial, path).map_err(io)?;
    Ok(())
}

/// An open `pk.cosets`, checked against its key: the prover reads one coset at a time.
#[derive(Debug)]
pub struct CosetsFile {
    path: PathBuf,
    header: CosetsHeader,
    /// The previous part's vectors, given back by the prover: read into again, their pages
    /// are not faulted in anew (about half the time of a part's read).
    pool: Mutex<Vec<Vec<Fr>>>,
}

impl CosetsFile {
    /// Opens `path` for the proving key `pk` whose verifying key has `vk_digest`: its
    /// framing, version, size and header are checked here, each polynomial's digest when
    /// it is read.
    pub fn open(
        path: &Path,
        pk: &ProvingKey<G1Affine>,
        vk_digest: &str,
    ) -> Result<Self, ProveError> {
        let err = |reason: String| cosets_error(path, reason);
        let io = |e: io::Error| err(format!("reading the coset file: {e}"));
        let mut file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut head = [0u8; 12];
        file.read_exact(&mut head)
            .map_err(|_| err("not a coset file (too short)".into()))?;
        if &head[..8] != MAGIC {
            return Err(err("not a coset file (no ZKCOSETS magic)".into()));
        }
        let version = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
        if version != COSETS_VERSION {
            return Err(err(format!(
                "coset file version {version}, this zkinfer reads version {COSETS_VERSION}; \
                 rerun `zkinfer setup --precompute-cosets` or delete the file"
            )));
        }
        let mut tail = [0u8; 16];
        file.seek(SeekFrom::End(-16))
            .and_then(|_| file.read_exact(&mut tail))
            .map_err(|_| err("truncated coset file (no trailer)".into()))?;
        let mut len_bytes = [0u8; 8];
        len_bytes.copy_from_slice(&tail[..8]);
        let json_len = u64::from_le_bytes(len_bytes);
        if &tail[8..] != MAGIC || json_len > len.saturating_sub(28) {
            return Err(err("truncated or corrupted coset file (bad trailer)".into()));
        }
        let mut json = vec![0u8; json_len as usize];
        file.seek(SeekFrom::End(-16 - json_len as i64))
            .and_then(|_| file.read_exact(&mut json))
            .map_err(io)?;
        let header: CosetsHeader = serde_json::from_slice(&json)
            .map_err(|e| err(format!("corrupted coset file header: {e}")))?;
        let expected = (
            vk_digest,
            pk.get_vk().get_domain().k(),
            pk.num_extended_parts(),
            pk.fixed_polys().len(),
            pk.permutation().polys().len(),
        );
        let got = (
            header.vk_digest.as_str(),
            header.k,
            header.parts,
            header.fixed,
            header.permutation,
        );
        if got != expected {
            return Err(err(format!(
                "these cosets belong to other keys (verifying key {}, k = {}, {} parts, {} fixed \
                 and {} permutation polynomials; the keys here: {}, k = {}, {}, {}, {}); rerun \
                 `zkinfer setup --precompute-cosets` or delete the file",
                got.0,
                got.1,
                got.2,
                got.3,
                got.4,
                expected.0,
                expected.1,
                expected.2,
                expected.3,
                expected.4
            )));
        }
        if header.digests.len() != header.parts * header.polys_per_part()
            || 12 + header.body_bytes() + json_len + 16 != len
        {
            return Err(err(format!(
                "truncated or corrupted coset file ({len} bytes, its header describes {})",
                12 + header.body_bytes() + json_len + 16
            )));
        }
        Ok(Self {
            path: path.to_owned(),
            header,
            pool: Mutex::new(Vec::new()),
        })
    }

    pub fn header(&self) -> &CosetsHeader {
        &self.header
    }

    /// Reads polynomial `index` of the whole file (part-major), checking its digest. Every
    /// error is a [`CosetsReadError`] naming the file.
    fn read_poly(&self, index: usize) -> io::Result<Polynomial<Fr, LagrangeCoeff>> {
        let fail = |kind, reason: String| {
            io::Error::new(
                kind,
                CosetsReadError {
                    path: self.path.display().to_string(),
                    reason: format!("polynomial {index}: {reason}"),
                },
            )
        };
        let size = self.header.poly_bytes();
        let mut file = File::open(&self.path).map_err(|e| fail(e.kind(), e.to_string()))?;
        file.seek(SeekFrom::Start(12 + index as u64 * size))
            .map_err(|e| fail(e.kind(), e.to_string()))?;
        // Read, digested and converted a chunk at a time: the values' own memory is the only
        // large allocation.
        let n = size as usize / VALUE_BYTES;
        let reused = self.pool.lock().ok().and_then(|mut pool| pool.pop());
        let mut values = reused.unwrap_or_else(|| Vec::with_capacity(n));
        values.clear();
        values.reserve_exact(n);
        let mut hasher = Sha256::new();
        let mut chunk = vec![0u8; READ_CHUNK];
        let mut left = size as usize;
        while left > 0 {
            let bytes = &mut chunk[..left.min(READ_CHUNK)];
            file.read_exact(bytes)
                .map_err(|e| fail(e.kind(), e.to_string()))?;
            hasher.update(&*bytes);
            values.extend(
                bytes
                    .chunks_exact(VALUE_BYTES)
                    .map(Fr::from_raw_bytes_unchecked),
            );
            left -= bytes.len();
        }
        if hex::encode(hasher.finalize()) != self.header.digests[index] {
            return Err(fail(
                io::ErrorKind::InvalidData,
                "does not match its digest: the coset file is corrupted; delete it (proving \
                 then computes the cosets) or rerun `zkinfer setup --precompute-cosets`"
                    .into(),
            ));
        }
        Ok(Polynomial::new(values))
    }
}

/// Why a polynomial of `pk.cosets` could not be read during a proof.
#[derive(Debug)]
pub struct CosetsReadError {
    pub path: String,
    pub reason: String,
}

impl std::fmt::Display for CosetsReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

impl std::error::Error for CosetsReadError {}

impl KeyCosetSource<Fr> for CosetsFile {
    fn part(&self, part: usize) -> io::Result<KeyCosets<Fr>> {
        let h = &self.header;
        let n = h.polys_per_part();
        let mut fixed = (part * n..(part + 1) * n)
            .into_par_iter()
            .map(|i| self.read_poly(i))
            .collect::<io::Result<Vec<_>>>()?;
        // `open` checked the counts: `fixed`, then the three Lagrange polynomials, then the
        // permutations.
        let permutation = fixed.split_off(h.fixed + 3);
        let mut lagrange = fixed.split_off(h.fixed).into_iter();
        match (lagrange.next(), lagrange.next(), lagrange.next()) {
            (Some(l0), Some(l_last), Some(l_active_row)) => Ok(KeyCosets {
                fixed,
                l0,
                l_last,
                l_active_row,
                permutation,
            }),
            _ => Err(io::Error::other(CosetsReadError {
                path: self.path.display().to_string(),
                reason: format!("part {part}: fewer polynomials than its header counts"),
            })),
        }
    }

    fn recycle(&self, cosets: KeyCosets<Fr>) {
        let KeyCosets {
            fixed,
            l0,
            l_last,
            l_active_row,
            permutation,
        } = cosets;
        if let Ok(mut pool) = self.pool.lock() {
            let polys = fixed
                .into_iter()
                .chain([l0, l_last, l_active_row])
                .chain(permutation);
            pool.extend(polys.map(Polynomial::into_values));
        }
    }
}

/// Reads `dir/pk.cosets` into `pk` when it is there (checked against the key).
pub fn attach_cosets(
    dir: &Path,
    pk: &mut ProvingKey<G1Affine>,
    vk_digest: &str,
) -> Result<bool, ProveError> {
    let path = dir.join(COSETS_FILE);
    if !path.exists() {
        return Ok(false);
    }
    let file = CosetsFile::open(&path, pk, vk_digest)?;
    pk.set_key_cosets(Some(Arc::new(file)));
    Ok(true)
}

/// The halo2 error of a proof whose coset file failed: a typed key error naming the file.
pub(crate) fn coset_error_of(e: &halo2_axiom::plonk::Error) -> Option<ProveError> {
    let halo2_axiom::plonk::Error::Transcript(io) = e else {
        return None;
    };
    let c = io.get_ref()?.downcast_ref::<CosetsReadError>()?;
    Some(ProveError::Key {
        path: c.path.clone(),
        reason: c.reason.clone(),
    })
}
