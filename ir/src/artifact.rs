//! Versioned artifacts: every file zkinfer writes carries a format name, a version and the
//! digests of what it depends on, and a mismatch is an error that says what to regenerate.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::graph::Graph;
use crate::settings::Settings;
use crate::IrError;

/// Format name of a compiled model (`model.zkc`).
pub const MODEL_FORMAT: &str = "zkinfer-model";
/// Current version of the compiled-model format.
pub const MODEL_VERSION: u32 = 5;
/// Magic at the start of every binary artifact.
pub const MAGIC: &[u8; 8] = b"ZKINFER\0";

/// Hex SHA-256 of `bytes`, prefixed `sha256:`.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The ONNX file a model was compiled from (for the float reference at proving time).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    pub path: String,
    pub digest: String,
}

/// A compiled model: the quantized graph and its circuit settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompiledModel {
    pub format: String,
    pub version: u32,
    pub graph: Graph,
    pub settings: Settings,
    pub source: Option<SourceInfo>,
}

impl CompiledModel {
    pub fn new(graph: Graph, settings: Settings) -> Self {
        Self {
            format: MODEL_FORMAT.into(),
            version: MODEL_VERSION,
            graph,
            settings,
            source: None,
        }
    }

    /// Digest of the graph and settings: what a key or proof for this model commits to.
    pub fn digest(&self) -> String {
        let bytes = serde_json::to_vec(&(&self.graph, &self.settings)).unwrap_or_default();
        digest(&bytes)
    }

    pub fn to_json(&self) -> Result<String, IrError> {
        serde_json::to_string(self).map_err(|source| IrError::Json {
            path: "<model>".into(),
            source,
        })
    }

    pub fn write(&self, path: &Path) -> Result<(), IrError> {
        write_file(path, self.to_json()?.as_bytes())
    }

    pub fn read(path: &Path) -> Result<Self, IrError> {
        let bytes = read_file(path)?;
        Self::from_slice(&bytes, &path.display().to_string())
    }

    pub fn from_slice(bytes: &[u8], path: &str) -> Result<Self, IrError> {
        #[derive(Deserialize)]
        struct Head {
            format: Option<String>,
            version: Option<u32>,
        }
        let head: Head = serde_json::from_slice(bytes).map_err(|e| IrError::ArtifactFormat {
            path: path.into(),
            expected: MODEL_FORMAT.into(),
            reason: e.to_string(),
        })?;
        if head.format.as_deref() != Some(MODEL_FORMAT) {
            return Err(IrError::ArtifactFormat {
                path: path.into(),
                expected: MODEL_FORMAT.into(),
                reason: format!("format is {:?}", head.format),
            });
        }
        let version = head.version.unwrap_or(0);
        if version != MODEL_VERSION {
            return Err(IrError::ArtifactVersion {
                path: path.into(),
                kind: MODEL_FORMAT.into(),
                got: version,
                supported: MODEL_VERSION,
            });
        }
        let model: Self = serde_json::from_slice(bytes).map_err(|source| IrError::Json {
            path: path.into(),
            source,
        })?;
        model.graph.check().map_err(|e| IrError::ArtifactFormat {
            path: path.into(),
            expected: MODEL_FORMAT.into(),
            reason: e.to_string(),
        })?;
        Ok(model)
    }
}

/// The kinds of binary artifact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    ProvingKey,
    VerifyingKey,
    Bundle,
    Srs,
}

impl ArtifactKind {
    fn byte(self) -> u8 {
        match self {
            ArtifactKind::ProvingKey => 1,
            ArtifactKind::VerifyingKey => 2,
            ArtifactKind::Bundle => 3,
            ArtifactKind::Srs => 4,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ArtifactKind::ProvingKey => "proving key",
            ArtifactKind::VerifyingKey => "verifying key",
            ArtifactKind::Bundle => "verifier bundle",
            ArtifactKind::Srs => "SRS",
        }
    }
}

/// Current version of every binary artifact format.
pub const BINARY_VERSION: u32 = 2;

/// A binary artifact: `MAGIC | kind (u8) | version (u32 LE) | header length (u32 LE) | header
/// (JSON) | payload`. The header carries the digests the payload depends on.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope<H> {
    pub kind: ArtifactKind,
    pub header: H,
    pub payload: Vec<u8>,
}

impl<H: Serialize + for<'de> Deserialize<'de>> Envelope<H> {
    pub fn encode(&self) -> Vec<u8> {
        let header = serde_json::to_vec(&self.header).unwrap_or_default();
        let mut out = Vec::with_capacity(17 + header.len() + self.payload.len());
        out.extend_from_slice(MAGIC);
        out.push(self.kind.byte());
        out.extend_from_slice(&BINARY_VERSION.to_le_bytes());
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&self.payload);
        out
    }

    /// Decodes an artifact of `kind`; `path` names the file in errors.
    pub fn decode(bytes: &[u8], kind: ArtifactKind, path: &str) -> Result<Self, IrError> {
        let bad = |reason: &str| IrError::ArtifactFormat {
            path: path.into(),
            expected: kind.name().into(),
            reason: reason.into(),
        };
        if bytes.len() < 17 || &bytes[..8] != MAGIC {
            return Err(bad("missing zkinfer magic"));
        }
        if bytes[8] != kind.byte() {
            return Err(bad(&format!("it is an artifact of kind {}", bytes[8])));
        }
        let word = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let version = word(9);
        if version != BINARY_VERSION {
            return Err(IrError::ArtifactVersion {
                path: path.into(),
                kind: kind.name().into(),
                got: version,
                supported: BINARY_VERSION,
            });
        }
        let len = word(13) as usize;
        let end = 17usize.checked_add(len).filter(|&e| e <= bytes.len());
        let end = end.ok_or_else(|| bad("truncated header"))?;
        let header = serde_json::from_slice(&bytes[17..end]).map_err(|e| bad(&e.to_string()))?;
        Ok(Self {
            kind,
            header,
            payload: bytes[end..].to_vec(),
        })
    }
}

pub fn read_file(path: &Path) -> Result<Vec<u8>, IrError> {
    std::fs::read(path).map_err(|source| IrError::Io {
        path: path.display().to_string(),
        source,
    })
}

pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), IrError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| IrError::Io {
            path: parent.display().to_string(),
            source,
        })?;
    }
    std::fs::write(path, bytes).map_err(|source| IrError::Io {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_envelope_round_trips_and_rejects_other_kinds_and_versions() {
        let env = Envelope {
            kind: ArtifactKind::VerifyingKey,
            header: serde_json::json!({"model_digest": "x"}),
            payload: vec![1, 2, 3],
        };
        let bytes = env.encode();
        let back = Envelope::<serde_json::Value>::decode(&bytes, ArtifactKind::VerifyingKey, "vk");
        assert_eq!(back.ok(), Some(env));
        assert!(
            Envelope::<serde_json::Value>::decode(&bytes, ArtifactKind::ProvingKey, "vk").is_err()
        );
        let mut old = bytes.clone();
        old[9] = 0;
        assert!(matches!(
            Envelope::<serde_json::Value>::decode(&old, ArtifactKind::VerifyingKey, "vk"),
            Err(IrError::ArtifactVersion { .. })
        ));
        assert!(Envelope::<serde_json::Value>::decode(
            &bytes[..20],
            ArtifactKind::VerifyingKey,
            "vk"
        )
        .is_err());
    }
}
