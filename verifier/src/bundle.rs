//! The verifier bundle: verifying key, settings and the three SRS points verification needs.

use halo2_axiom::halo2curves::bn256::{Bn256, G1Affine, G2Affine};
use halo2_axiom::plonk::VerifyingKey;
use halo2_axiom::poly::kzg::commitment::ParamsKZG;
use halo2_axiom::SerdeFormat;
use serde::{Deserialize, Serialize};
use zkinfer_circuits::{CircuitParams, ModelCircuit};
use zkinfer_ir::{digest, ArtifactKind, Envelope, Settings};

use crate::VerifyError;

/// Where the SRS came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SrsInfo {
    pub k: u32,
    /// A locally generated SRS whose secret was known to the machine that made it.
    pub insecure: bool,
    pub source: String,
}

/// The bundle header (JSON inside the binary envelope).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BundleHeader {
    pub model_digest: String,
    pub vk_digest: String,
    pub settings: Settings,
    pub srs: SrsInfo,
}

/// Everything a client needs to verify proofs of one model.
#[derive(Clone, Debug)]
pub struct Bundle {
    pub header: BundleHeader,
    pub vk: VerifyingKey<G1Affine>,
    pub params: ParamsKZG<Bn256>,
    vk_bytes: Vec<u8>,
    points: Vec<u8>,
}

/// The statement digest's domain separator (its version: a change of what it covers is a new
/// version).
const STATEMENT_DOMAIN: &[u8] = b"zkinfer-statement-v1\0";

/// Raw bytes of `G1` and `G2` points (`SerdeFormat::RawBytes`).
const G1_RAW: usize = 64;
const G2_RAW: usize = 128;

fn catch<T>(f: impl FnOnce() -> std::io::Result<T>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("malformed data".into()),
    }
}

impl Bundle {
    /// Builds a bundle from a verifying key and the SRS it was made with.
    pub fn new(
        header: BundleHeader,
        vk: VerifyingKey<G1Affine>,
        g0: G1Affine,
        g2: G2Affine,
        s_g2: G2Affine,
    ) -> Result<Self, VerifyError> {
        use halo2_axiom::SerdeCurveAffine;
        let vk_bytes = vk.to_bytes(SerdeFormat::RawBytes);
        let mut points = Vec::with_capacity(G1_RAW + 2 * G2_RAW);
        let io = |e: std::io::Error| VerifyError::Bundle {
            path: "<new>".into(),
            reason: e.to_string(),
        };
        g0.write(&mut points, SerdeFormat::RawBytes).map_err(io)?;
        g2.write(&mut points, SerdeFormat::RawBytes).map_err(io)?;
        s_g2.write(&mut points, SerdeFormat::RawBytes).map_err(io)?;
        let params = params_from_points(&points, header.settings.k).map_err(|reason| {
            VerifyError::Bundle {
                path: "<new>".into(),
                reason,
            }
        })?;
        Ok(Self {
            header,
            vk,
            params,
            vk_bytes,
            points,
        })
    }

    /// The verifying key's raw halo2 bytes (`SerdeFormat::RawBytes`).
    pub fn vk_bytes(&self) -> &[u8] {
        &self.vk_bytes
    }

    /// The statement digest: one SHA-256 over everything a verifier reads from the bundle
    /// (the verifying key's bytes, the three SRS points, and the header: model and key
    /// digests, settings with every scale, shape and bound, shard index and parent, SRS
    /// information). Two bundles with the same statement digest accept exactly the same
    /// proofs with the same meaning: it is the model's identity for a caller to pin
    /// ([`crate::verify_pinned`], `zkinfer verify --digest`, the entry contract's
    /// `STATEMENT_DIGEST`). Computed from the parsed bundle, never read from a file.
    pub fn statement_digest(&self) -> String {
        let header = serde_json::to_vec(&self.header).unwrap_or_default();
        let mut bytes = Vec::with_capacity(64 + self.vk_bytes.len() + header.len());
        bytes.extend_from_slice(STATEMENT_DOMAIN);
        for part in [&self.vk_bytes[..], &self.points[..], &header[..]] {
            bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
            bytes.extend_from_slice(part);
        }
        digest(&bytes)
    }

    pub fn vk_digest_of(vk: &VerifyingKey<G1Affine>) -> String {
        digest(&vk.to_bytes(SerdeFormat::RawBytes))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut payload = Vec::with_capacity(4 + self.vk_bytes.len() + self.points.len());
        payload.extend_from_slice(&(self.vk_bytes.len() as u32).to_le_bytes());
        payload.extend_from_slice(&self.vk_bytes);
        payload.extend_from_slice(&self.points);
        Envelope {
            kind: ArtifactKind::Bundle,
            header: self.header.clone(),
            payload,
        }
        .encode()
    }

    /// Parses a bundle; every malformed or inconsistent part is a typed error.
    pub fn from_bytes(bytes: &[u8], path: &str) -> Result<Self, VerifyError> {
        let env = Envelope::<BundleHeader>::decode(bytes, ArtifactKind::Bundle, path)?;
        let bad = |reason: String| VerifyError::Bundle {
            path: path.into(),
            reason,
        };
        let p = &env.payload;
        if p.len() < 4 {
            return Err(bad("truncated payload".into()));
        }
        let n = u32::from_le_bytes([p[0], p[1], p[2], p[3]]) as usize;
        let vk_end = 4usize
            .checked_add(n)
            .filter(|&e| e <= p.len())
            .ok_or_else(|| bad("truncated verifying key".into()))?;
        let vk_bytes = p[4..vk_end].to_vec();
        let points = p[vk_end..].to_vec();
        if points.len() != G1_RAW + 2 * G2_RAW {
            return Err(bad(format!(
                "expected {} bytes of SRS points, found {}",
                G1_RAW + 2 * G2_RAW,
                points.len()
            )));
        }
        let got = digest(&vk_bytes);
        if got != env.header.vk_digest {
            return Err(bad(format!(
                "verifying key digest {got} does not match the header's {}",
                env.header.vk_digest
            )));
        }
        // No circuit proves activations past 2^62; a larger range would overflow the
        // packing's arithmetic (a hostile header, not a model).
        let m = env.header.settings.table.mag_bits();
        if m > 62 {
            return Err(bad(format!(
                "settings: an activation range of 2^{m} is beyond what any circuit proves"
            )));
        }
        let circuit_params = CircuitParams::from(&env.header.settings);
        let vk = catch(|| {
            VerifyingKey::<G1Affine>::read::<_, ModelCircuit>(
                &mut &vk_bytes[..],
                SerdeFormat::RawBytes,
                circuit_params,
            )
        })
        .map_err(|e| bad(format!("verifying key: {e}")))?;
        if vk.get_domain().k() != env.header.settings.k {
            return Err(bad(format!(
                "verifying key has k = {}, settings say {}",
                vk.get_domain().k(),
                env.header.settings.k
            )));
        }
        let params = params_from_points(&points, env.header.settings.k).map_err(bad)?;
        Ok(Self {
            header: env.header,
            vk,
            params,
            vk_bytes,
            points,
        })
    }

    pub fn read(path: &std::path::Path) -> Result<Self, VerifyError> {
        let bytes = zkinfer_ir::read_file(path)?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }
}

/// Verifier parameters from `g0 | g2 | s_g2`: the KZG verifier uses no other SRS point.
fn params_from_points(points: &[u8], k: u32) -> Result<ParamsKZG<Bn256>, String> {
    // A one-point SRS in halo2's own layout: k = 0, g = [g0], g_lagrange = [g0], g2, s_g2.
    let mut raw = Vec::with_capacity(4 + 2 * G1_RAW + 2 * G2_RAW);
    raw.extend_from_slice(&0u32.to_le_bytes());
    raw.extend_from_slice(&points[..G1_RAW]);
    raw.extend_from_slice(&points[..G1_RAW]);
    raw.extend_from_slice(&points[G1_RAW..]);
    let tiny = catch(|| ParamsKZG::<Bn256>::read_custom(&mut &raw[..], SerdeFormat::RawBytes))
        .map_err(|e| format!("SRS points: {e}"))?;
    use halo2_axiom::poly::commitment::ParamsProver;
    let g0 = tiny.get_g()[0];
    Ok(tiny.from_parts(k, vec![g0], Some(vec![g0]), tiny.g2(), tiny.s_g2()))
}
