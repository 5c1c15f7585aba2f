//! Key generation and the key files: `pk.bin`, `vk.bin` and the verifier bundle `bundle.bin`.

use std::path::Path;
use std::sync::Arc;

use halo2_axiom::halo2curves::bn256::{Bn256, G1Affine};
use halo2_axiom::plonk::{keygen_pk, keygen_vk, ProvingKey};
use halo2_axiom::poly::commitment::ParamsProver;
use halo2_axiom::poly::kzg::commitment::ParamsKZG;
use halo2_axiom::SerdeFormat;
use serde::{Deserialize, Serialize};
use zkinfer_circuits::{CircuitParams, ModelCircuit};
use zkinfer_ir::{ArtifactKind, CompiledModel, Envelope, StreamedArtifact};
use zkinfer_verifier::{Bundle, BundleHeader, SrsInfo};

use crate::ProveError;

pub const PK_FILE: &str = "pk.bin";
pub const VK_FILE: &str = "vk.bin";
pub const BUNDLE_FILE: &str = "bundle.bin";

/// Header of `pk.bin` and `vk.bin`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyHeader {
    pub model_digest: String,
    pub vk_digest: String,
    pub lanes: usize,
    /// The circuit has Freivalds' second-phase columns.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub freivalds: bool,
    pub k: u32,
    pub srs: SrsInfo,
    /// Digest of this file's payload, checked before the key is parsed.
    pub payload_digest: String,
}

/// The keys of one model.
pub struct Keys {
    pub pk: ProvingKey<G1Affine>,
    pub header: KeyHeader,
    pub bundle: Bundle,
}

pub fn circuit_for(model: &CompiledModel) -> ModelCircuit {
    ModelCircuit::new(
        Arc::new(model.graph.clone()),
        &model.settings.table,
        CircuitParams::from(&model.settings),
    )
}

/// Generates the proving and verifying keys of `model` with `params`.
pub fn setup(
    model: &CompiledModel,
    params: &ParamsKZG<Bn256>,
    srs: SrsInfo,
) -> Result<Keys, ProveError> {
    let circuit = circuit_for(model);
    let halo2 = |e: halo2_axiom::plonk::Error| ProveError::Halo2(format!("{e:?}"));
    let vk = keygen_vk(params, &circuit).map_err(halo2)?;
    let pk = keygen_pk(params, vk.clone(), &circuit).map_err(halo2)?;
    let vk_digest = Bundle::vk_digest_of(&vk);
    let header = KeyHeader {
        model_digest: model.digest(),
        vk_digest: vk_digest.clone(),
        lanes: model.settings.lanes,
        freivalds: model.settings.freivalds,
        k: model.settings.k,
        srs: srs.clone(),
        payload_digest: String::new(),
    };
    let bundle = Bundle::new(
        BundleHeader {
            model_digest: header.model_digest.clone(),
            vk_digest,
            settings: model.settings.clone(),
            srs,
        },
        vk,
        params.get_g()[0],
        params.g2(),
        params.s_g2(),
    )?;
    Ok(Keys { pk, header, bundle })
}

impl Keys {
    /// Writes `pk.bin`, `vk.bin` and `bundle.bin` into `dir`. The proving key is written
    /// twice through its serializer, once into its digest and once into the file, so that its
    /// bytes (gigabytes for a large model) are never all in memory.
    pub fn write(&self, dir: &Path) -> Result<(), ProveError> {
        let pk_bytes =
            |mut w: &mut dyn std::io::Write| self.pk.write(&mut w, SerdeFormat::RawBytes);
        let pk_path = dir.join(PK_FILE);
        let io = |source| zkinfer_ir::IrError::Io {
            path: pk_path.display().to_string(),
            source,
        };
        let header = KeyHeader {
            payload_digest: zkinfer_ir::digest_of_writes(pk_bytes).map_err(io)?,
            ..self.header.clone()
        };
        zkinfer_ir::write_streamed(&pk_path, ArtifactKind::ProvingKey, &header, pk_bytes)?;
        let payload = self.pk.get_vk().to_bytes(SerdeFormat::RawBytes);
        let vk = Envelope {
            kind: ArtifactKind::VerifyingKey,
            header: KeyHeader {
                payload_digest: zkinfer_ir::digest(&payload),
                ..self.header.clone()
            },
            payload,
        };
        zkinfer_ir::write_file(&dir.join(VK_FILE), &vk.encode())?;
        zkinfer_ir::write_file(&dir.join(BUNDLE_FILE), &self.bundle.to_bytes())?;
        Ok(())
    }

    /// The SRS file to prove with: `given`, else the ceremony file these keys were made from
    /// (`None` for a local, insecure SRS, which [`crate::load_srs`] takes from its cache).
    pub fn srs_path<'a>(&'a self, given: Option<&'a Path>) -> Option<&'a Path> {
        let srs = &self.header.srs;
        given.or_else(|| (!srs.insecure).then(|| Path::new(&srs.source)))
    }

    /// Reads the keys in `dir` for `model`, checking that they were made for it. The proving
    /// key (gigabytes for a large model) is streamed: its digest in one pass, then parsed
    /// from the file, never held in memory as bytes. When `dir` has the key's precomputed
    /// cosets (`pk.cosets`, checked against the key here), proofs read them from there.
    pub fn read(dir: &Path, model: &CompiledModel) -> Result<Self, ProveError> {
        let path = dir.join(PK_FILE);
        let name = path.display().to_string();
        let bundle = Bundle::read(&dir.join(BUNDLE_FILE))?;
        let file = StreamedArtifact::<KeyHeader>::open(&path, ArtifactKind::ProvingKey)?;
        check_pk_header(&file.header, &bundle, model, &name)?;
        // Parsed while digested (the file read once, SHA-256 on another thread); the digest
        // is checked before the parse's result, or its error, is used.
        let (parsed, payload_digest) =
            file.parse_payload(|reader| parse_pk(reader, &file.header, model, &name))?;
        check_pk_payload(&file.header, &payload_digest, &name)?;
        let mut pk = parsed?;
        crate::cosets::attach_cosets(dir, &mut pk, &file.header.vk_digest)?;
        Ok(Self {
            pk,
            header: file.header,
            bundle,
        })
    }

    /// Parses proving-key bytes (`pk.bin`) for `model`, beside its verifier `bundle`; `name`
    /// names the file in errors.
    pub fn from_bytes(
        bytes: &[u8],
        bundle: Bundle,
        model: &CompiledModel,
        name: &str,
    ) -> Result<Self, ProveError> {
        let env = Envelope::<KeyHeader>::decode(bytes, ArtifactKind::ProvingKey, name)?;
        check_pk_header(&env.header, &bundle, model, name)?;
        check_pk_payload(&env.header, &zkinfer_ir::digest(&env.payload), name)?;
        let pk = parse_pk(&mut &env.payload[..], &env.header, model, name)?;
        Ok(Self {
            pk,
            header: env.header,
            bundle,
        })
    }
}

/// Checks a proving key's header before its payload is read: made for `model`, from the same
/// setup as `bundle`.
fn check_pk_header(
    header: &KeyHeader,
    bundle: &Bundle,
    model: &CompiledModel,
    name: &str,
) -> Result<(), ProveError> {
    let digest = model.digest();
    if header.model_digest != digest {
        return Err(zkinfer_ir::IrError::DigestMismatch {
            path: name.into(),
            what: "model".into(),
            expected: digest,
            got: header.model_digest.clone(),
            hint: "these keys belong to another model; run `zkinfer setup` on this model.zkc"
                .into(),
        }
        .into());
    }
    if bundle.header.vk_digest != header.vk_digest {
        return Err(ProveError::Key {
            path: name.into(),
            reason: "pk.bin and bundle.bin come from different setups; rerun `zkinfer setup`"
                .into(),
        });
    }
    // The circuit's shape is the model's: the key is parsed with it, so a header that says
    // otherwise is refused before any of the payload is read.
    let settings = &model.settings;
    let shape = (header.k, header.lanes, header.freivalds);
    let wanted = (settings.k, settings.lanes, settings.freivalds);
    if shape != wanted {
        return Err(ProveError::Key {
            path: name.into(),
            reason: format!(
                "the key's header describes a circuit of k = {}, {} lanes, freivalds {}; the \
                 model's is k = {}, {} lanes, freivalds {}; rerun `zkinfer setup`",
                shape.0, shape.1, shape.2, wanted.0, wanted.1, wanted.2
            ),
        });
    }
    Ok(())
}

/// Checks that a proving key's payload is intact: `payload_digest` as read is the header's.
fn check_pk_payload(
    header: &KeyHeader,
    payload_digest: &str,
    name: &str,
) -> Result<(), ProveError> {
    if payload_digest != header.payload_digest {
        return Err(zkinfer_ir::IrError::DigestMismatch {
            path: name.into(),
            what: "proving key".into(),
            expected: header.payload_digest.clone(),
            got: payload_digest.into(),
            hint: "the file is truncated or corrupted; rerun `zkinfer setup`".into(),
        }
        .into());
    }
    Ok(())
}

/// Parses a proving key's payload from `reader`, then checks that its verifying key is the
/// setup's (`header.vk_digest`, the bundle's). A malformed key is an error, not a panic: the
/// vendored halo2-axiom reads every length and count checked against the circuit, allocating
/// no more than the bytes it has read (ZKINFER-PATCHES.md, 5), so the parser may run on
/// bytes whose digest is not yet known to match.
fn parse_pk(
    reader: &mut impl std::io::Read,
    header: &KeyHeader,
    model: &CompiledModel,
    name: &str,
) -> Result<ProvingKey<G1Affine>, ProveError> {
    let key_error = |reason: String| ProveError::Key {
        path: name.into(),
        reason,
    };
    let params = CircuitParams::from(&model.settings);
    let pk = ProvingKey::<G1Affine>::read::<_, ModelCircuit>(reader, SerdeFormat::RawBytes, params)
        .map_err(|e| key_error(format!("malformed proving key: {e}")))?;
    let k = pk.get_vk().get_domain().k();
    if k != header.k {
        return Err(key_error(format!(
            "the proving key is for k = {k}, its header says k = {}; rerun `zkinfer setup`",
            header.k
        )));
    }
    if Bundle::vk_digest_of(pk.get_vk()) != header.vk_digest {
        return Err(key_error(
            "the proving key's verifying key is not the setup's (its digest differs from \
             bundle.bin's); rerun `zkinfer setup`"
                .into(),
        ));
    }
    Ok(pk)
}
