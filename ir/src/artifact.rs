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
    let mut hashing = Hashing(Sha256::new());
    hashing.0.update(bytes);
    hashing.finish()
}

/// A writer into SHA-256: what [`digest`], [`digest_of_writes`] and [`StreamedArtifact`]
/// hash through.
struct Hashing(Sha256);

impl Hashing {
    fn finish(self) -> String {
        format!("sha256:{}", hex::encode(self.0.finalize()))
    }
}

impl std::io::Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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
        let mut out = prefix_and_header(self.kind, &self.header);
        out.extend_from_slice(&self.payload);
        out
    }

    /// Decodes an artifact of `kind`; `path` names the file in errors.
    pub fn decode(bytes: &[u8], kind: ArtifactKind, path: &str) -> Result<Self, IrError> {
        let prefix = bytes.get(..PREFIX_LEN).unwrap_or(bytes);
        let len = header_len(prefix, kind, path)?;
        let end = PREFIX_LEN.checked_add(len).filter(|&e| e <= bytes.len());
        let end = end.ok_or_else(|| artifact_error(kind, path, "truncated header"))?;
        Ok(Self {
            kind,
            header: parse_header(&bytes[PREFIX_LEN..end], kind, path)?,
            payload: bytes[end..].to_vec(),
        })
    }
}

/// Bytes before an artifact's header: magic, kind, version and the header's length.
const PREFIX_LEN: usize = 17;

/// An artifact's bytes before its payload: magic, kind, version, header length and header.
fn prefix_and_header<H: Serialize>(kind: ArtifactKind, header: &H) -> Vec<u8> {
    let header = serde_json::to_vec(header).unwrap_or_default();
    let mut out = Vec::with_capacity(PREFIX_LEN + header.len());
    out.extend_from_slice(MAGIC);
    out.push(kind.byte());
    out.extend_from_slice(&BINARY_VERSION.to_le_bytes());
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    out
}

fn artifact_error(kind: ArtifactKind, path: &str, reason: &str) -> IrError {
    IrError::ArtifactFormat {
        path: path.into(),
        expected: kind.name().into(),
        reason: reason.into(),
    }
}

/// Checks an artifact's prefix (magic, kind, version) and returns its header's length.
fn header_len(prefix: &[u8], kind: ArtifactKind, path: &str) -> Result<usize, IrError> {
    if prefix.len() < PREFIX_LEN || &prefix[..8] != MAGIC {
        return Err(artifact_error(kind, path, "missing zkinfer magic"));
    }
    if prefix[8] != kind.byte() {
        let reason = format!("it is an artifact of kind {}", prefix[8]);
        return Err(artifact_error(kind, path, &reason));
    }
    let word = |at: usize| {
        u32::from_le_bytes([prefix[at], prefix[at + 1], prefix[at + 2], prefix[at + 3]])
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
    Ok(word(13) as usize)
}

fn parse_header<H: for<'de> Deserialize<'de>>(
    bytes: &[u8],
    kind: ArtifactKind,
    path: &str,
) -> Result<H, IrError> {
    serde_json::from_slice(bytes).map_err(|e| artifact_error(kind, path, &e.to_string()))
}

/// An artifact file read without holding its payload in memory (a proving key is gigabytes):
/// its header and where its payload starts. [`StreamedArtifact::parse_payload`] parses the
/// payload while another thread digests it; check the digest before trusting what was parsed.
#[derive(Clone, Debug)]
pub struct StreamedArtifact<H> {
    pub header: H,
    path: std::path::PathBuf,
    payload_offset: u64,
}

/// Bytes of the payload read at a time and handed to both the parser and the digest.
const CHUNK: usize = 4 << 20;

impl<H: for<'de> Deserialize<'de>> StreamedArtifact<H> {
    /// Opens the artifact of `kind` at `path` and reads its header (the payload not yet).
    pub fn open(path: &Path, kind: ArtifactKind) -> Result<Self, IrError> {
        use std::io::Read;
        let name = path.display().to_string();
        let io = |source| IrError::Io {
            path: name.clone(),
            source,
        };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let mut prefix = Vec::with_capacity(PREFIX_LEN);
        (&mut file)
            .take(PREFIX_LEN as u64)
            .read_to_end(&mut prefix)
            .map_err(io)?;
        let len = header_len(&prefix, kind, &name)?;
        let mut header = Vec::with_capacity(len.min(1 << 20));
        (&mut file)
            .take(len as u64)
            .read_to_end(&mut header)
            .map_err(io)?;
        if header.len() < len {
            return Err(artifact_error(kind, &name, "truncated header"));
        }
        Ok(Self {
            header: parse_header(&header, kind, &name)?,
            path: path.to_path_buf(),
            payload_offset: (PREFIX_LEN + len) as u64,
        })
    }

    fn io_error(&self, source: std::io::Error) -> IrError {
        IrError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// The file reopened at the payload's start.
    fn payload_file(&self) -> Result<std::fs::File, IrError> {
        use std::io::{Seek, SeekFrom};
        let mut file = std::fs::File::open(&self.path).map_err(|e| self.io_error(e))?;
        file.seek(SeekFrom::Start(self.payload_offset))
            .map_err(|e| self.io_error(e))?;
        Ok(file)
    }

    /// The payload's SHA-256 (the same digest as [`digest`] of the payload), in one pass.
    pub fn digest_payload(&self) -> Result<String, IrError> {
        let mut hashing = Hashing(Sha256::new());
        std::io::copy(&mut self.payload_file()?, &mut hashing).map_err(|e| self.io_error(e))?;
        Ok(hashing.finish())
    }

    /// A buffered reader over the payload.
    pub fn payload_reader(&self) -> Result<impl std::io::Read, IrError> {
        Ok(std::io::BufReader::with_capacity(
            1 << 20,
            self.payload_file()?,
        ))
    }

    /// Parses the payload with `parse` while another thread digests it: the file is read
    /// once, a chunk at a time, each chunk handed to both. Returns what `parse` returned and
    /// the payload's digest (the rest of the payload read after `parse` is done). A damaged
    /// payload may still parse: compare the digest before using the result.
    pub fn parse_payload<T>(
        &self,
        parse: impl FnOnce(&mut TeeReader) -> T,
    ) -> Result<(T, String), IrError> {
        let (to_digest, chunks) = std::sync::mpsc::sync_channel::<std::sync::Arc<Vec<u8>>>(4);
        let mut reader = TeeReader {
            file: self.payload_file()?,
            to_digest,
            chunk: std::sync::Arc::new(Vec::new()),
            pos: 0,
        };
        std::thread::scope(|scope| {
            let digest = scope.spawn(move || {
                let mut hashing = Hashing(Sha256::new());
                for chunk in chunks {
                    hashing.0.update(&chunk[..]);
                }
                hashing.finish()
            });
            let parsed = parse(&mut reader);
            // The rest of the payload, past what the parser read, into the digest.
            while reader.next_chunk().map_err(|e| self.io_error(e))? {}
            drop(reader);
            let digest = digest
                .join()
                .map_err(|_| self.io_error(std::io::Error::other("the digest thread panicked")))?;
            Ok((parsed, digest))
        })
    }
}

/// The reader [`StreamedArtifact::parse_payload`] hands its parser: the payload's bytes, each
/// chunk also sent to the digest.
pub struct TeeReader {
    file: std::fs::File,
    to_digest: std::sync::mpsc::SyncSender<std::sync::Arc<Vec<u8>>>,
    chunk: std::sync::Arc<Vec<u8>>,
    pos: usize,
}

impl TeeReader {
    /// Reads the next chunk of the file and sends it to the digest; false at the end.
    fn next_chunk(&mut self) -> std::io::Result<bool> {
        use std::io::Read;
        let mut chunk = Vec::with_capacity(CHUNK);
        (&mut self.file)
            .take(CHUNK as u64)
            .read_to_end(&mut chunk)?;
        if chunk.is_empty() {
            return Ok(false);
        }
        self.chunk = std::sync::Arc::new(chunk);
        self.pos = 0;
        self.to_digest
            .send(self.chunk.clone())
            .map_err(|_| std::io::Error::other("the digest thread stopped"))?;
        Ok(true)
    }
}

impl std::io::Read for TeeReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.chunk.len() && !self.next_chunk()? {
            return Ok(0);
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        // The parser reads a field element (32 bytes) at a time: from the chunk directly.
        if let Some(bytes) = self.chunk.get(self.pos..self.pos + buf.len()) {
            buf.copy_from_slice(bytes);
            self.pos += buf.len();
            return Ok(());
        }
        let mut rest = buf;
        while !rest.is_empty() {
            match self.read(rest)? {
                0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                n => rest = &mut rest[n..],
            }
        }
        Ok(())
    }
}

pub fn read_file(path: &Path) -> Result<Vec<u8>, IrError> {
    std::fs::read(path).map_err(|source| IrError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Creates the folder `path` goes in, if it has one.
fn create_parent(path: &Path) -> Result<(), IrError> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => std::fs::create_dir_all(parent).map_err(|source| IrError::Io {
            path: parent.display().to_string(),
            source,
        }),
        None => Ok(()),
    }
}

pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), IrError> {
    create_parent(path)?;
    std::fs::write(path, bytes).map_err(|source| IrError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// The digest ([`digest`]) of the bytes `payload` writes, without keeping them.
pub fn digest_of_writes(
    payload: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<String> {
    let mut sink = std::io::BufWriter::with_capacity(1 << 20, Hashing(Sha256::new()));
    payload(&mut sink)?;
    Ok(sink.into_inner().map_err(|e| e.into_error())?.finish())
}

/// Writes the artifact of `kind` with `header` to `path`, its payload written by `payload`
/// straight into the file (the same bytes as [`Envelope::encode`], never all in memory).
pub fn write_streamed<H: Serialize>(
    path: &Path,
    kind: ArtifactKind,
    header: &H,
    payload: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), IrError> {
    use std::io::Write;
    create_parent(path)?;
    let io = |source| IrError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::create(path).map_err(io)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    out.write_all(&prefix_and_header(kind, header))
        .map_err(io)?;
    payload(&mut out).map_err(io)?;
    out.flush().map_err(io)
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

    #[test]
    fn a_streamed_artifact_has_the_payload_digest_and_reads_the_payload_back() {
        use std::io::Read;
        let dir = std::env::temp_dir().join(format!("zkinfer-streamed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let payload: Vec<u8> = (0..10_000_000u32).map(|i| (i % 251) as u8).collect();
        let env = Envelope {
            kind: ArtifactKind::ProvingKey,
            header: serde_json::json!({"model_digest": "x"}),
            payload: payload.clone(),
        };
        let path = dir.join("pk.bin");
        std::fs::write(&path, env.encode()).unwrap();
        let file = StreamedArtifact::<serde_json::Value>::open(&path, ArtifactKind::ProvingKey);
        let file = file.unwrap();
        assert_eq!(file.header, env.header);
        assert_eq!(file.digest_payload().unwrap(), digest(&payload));
        let mut back = Vec::new();
        file.payload_reader()
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert!(back == payload, "the payload read back differs");
        // Parsed while digested: the parser reads part of the payload in small reads, the
        // digest is still the whole payload's.
        let (head, tee_digest) = file
            .parse_payload(|r| {
                let mut head = vec![0u8; 5_000_001];
                for piece in head.chunks_mut(32) {
                    r.read_exact(piece).unwrap();
                }
                head
            })
            .unwrap();
        assert!(
            head[..] == payload[..5_000_001],
            "the parser's bytes differ"
        );
        assert_eq!(tee_digest, digest(&payload));
        let (all, tee_digest) = file
            .parse_payload(|r| {
                let mut all = Vec::new();
                r.read_to_end(&mut all).unwrap();
                all
            })
            .unwrap();
        assert!(all == payload, "the parser's bytes differ");
        assert_eq!(tee_digest, digest(&payload));

        // Another kind, another version and a cut header are errors naming the file.
        let other = StreamedArtifact::<serde_json::Value>::open(&path, ArtifactKind::Bundle);
        assert!(
            matches!(other, Err(IrError::ArtifactFormat { path: p, .. }) if p.ends_with("pk.bin"))
        );
        let mut bytes = env.encode();
        bytes[9] = 0;
        std::fs::write(&path, &bytes).unwrap();
        let old = StreamedArtifact::<serde_json::Value>::open(&path, ArtifactKind::ProvingKey);
        assert!(matches!(old, Err(IrError::ArtifactVersion { .. })));
        std::fs::write(&path, &env.encode()[..20]).unwrap();
        let cut = StreamedArtifact::<serde_json::Value>::open(&path, ArtifactKind::ProvingKey);
        assert!(
            matches!(cut, Err(IrError::ArtifactFormat { reason, .. }) if reason == "truncated header")
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_streamed_write_is_the_encoded_envelope_and_its_digest_the_payloads() {
        let dir = std::env::temp_dir().join(format!("zkinfer-write-{}", std::process::id()));
        let env = Envelope {
            kind: ArtifactKind::ProvingKey,
            header: serde_json::json!({"payload_digest": "y"}),
            payload: (0..3_000_000u32).map(|i| (i % 7) as u8).collect::<Vec<_>>(),
        };
        let path = dir.join("pk.bin");
        let payload = |w: &mut dyn std::io::Write| w.write_all(&env.payload);
        write_streamed(&path, env.kind, &env.header, payload).unwrap();
        assert!(std::fs::read(&path).unwrap() == env.encode());
        assert_eq!(digest_of_writes(payload).unwrap(), digest(&env.payload));
        std::fs::remove_dir_all(&dir).ok();
    }
}
